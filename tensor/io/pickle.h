// The restricted unpickler for torch.save(state_dict) (internal to tensor/io).
// It runs the pickle virtual machine over data.pkl but knows only the opcodes of protocol 2 (plus
// the few framing/memo opcodes of protocol 4) and only the globals a state_dict needs:
//   collections.OrderedDict, torch._utils._rebuild_tensor_v2, torch._utils._rebuild_parameter,
//   torch.{Float,Half,BFloat16,Double,Long,Int,Short,Char,Byte,Bool}Storage.
// Anything else is refused with an error naming it; nothing is ever imported or called. The result
// is only the structure (which tensor views which storage how); the bytes are in the zip
// (pytorch.cpp reads them).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "tensor/io/stored_dtype.h"
#include "tensor/shape.h"

namespace tz::io::detail {

/// One storage a tensor refers to: persistent id ('storage', torch.<Type>Storage, key, location, numel).
struct PickledStorage {
  StoredDType dtype;
  std::string key;  // the zip entry is "<folder>/data/<key>"
  int64_t numel;
};

/// torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...), already checked to stay
/// inside its storage.
struct PickledTensor {
  size_t storage;  // index into PickledStateDict::storages
  int64_t offset;  // in elements
  Shape shape;
  Shape strides;
};

struct PickledStateDict {
  std::vector<PickledStorage> storages;
  std::vector<PickledTensor> tensors;
  /// (name, index into tensors) in pickle order; two names may share one tensor (tied weights).
  std::vector<std::pair<std::string, size_t>> entries;
};

struct UnpickleLimits {
  size_t max_stack = 1 << 20;     // values on the VM stack
  size_t max_memo = 1 << 20;      // memo entries
  size_t max_objects = 1 << 21;   // values created in total (each costs ~150 bytes)
  int max_depth = 100;            // container nesting and open MARKs
};

/// Runs the restricted unpickler over `data` (the bytes of data.pkl). The top-level object must be
/// a dict (or OrderedDict) of string keys to tensors. Throws tz::Error "pickle: ..." otherwise.
PickledStateDict unpickle_state_dict(const uint8_t* data, size_t size, const UnpickleLimits& limits = {});

}  // namespace tz::io::detail
