// Training checkpoints on disk: OUT/checkpoints/step-<N>/ directories that appear atomically.
// A checkpoint is written into step-<N>.tmp-<pid>/, every file and the folder are fsync'ed, and
// only then is it swapped in as step-<N>/ (tensor/io/atomic_directory.h, which also replaces an
// existing step-<N> in one step when a resumed run saves it again); a crash at any point leaves
// the previous checkpoints intact, and half-written .tmp folders are ignored (and cleaned up by
// the next save). Not here: what goes into a checkpoint (trainer.cpp).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace tz::train {

class CheckpointDir {
 public:
  explicit CheckpointDir(std::string root);

  /// Writes checkpoint `step`: `write(dir)` fills a fresh temporary folder, which is then made
  /// durable and swapped in as step-<step>. `before_rename(tmp_dir)`, when set, runs between the
  /// two (a test throws there to simulate a crash). Afterwards only the newest `keep` complete
  /// checkpoints remain (keep <= 0 keeps all).
  std::string save(int64_t step, const std::function<void(const std::string&)>& write, int keep,
                   const std::function<void(const std::string&)>& before_rename = {});

  /// Steps of the complete checkpoints (those holding `marker_file`), ascending.
  std::vector<int64_t> complete_steps(const std::string& marker_file = "trainer_state.json") const;
  /// The folder of the newest complete checkpoint, or "" when there is none.
  std::string latest(const std::string& marker_file = "trainer_state.json") const;
  std::string path_for(int64_t step) const;
  const std::string& root() const { return root_; }

 private:
  std::string root_;
};

}  // namespace tz::train
