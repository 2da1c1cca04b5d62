// tensorzoo: the whole public API in one include, for applications.
//
//   #include <tensorzoo/tensorzoo.h>
//
// Installed as <prefix>/include/tensorzoo/tensorzoo.h. Consumers get both <prefix>/include and
// <prefix>/include/tensorzoo on their include path (CMake: tensorzoo::tensorzoo; pkg-config:
// `pkg-config --cflags tensorzoo`), because the library's own headers include each other from the
// repository root ("tensor/tensor.h"). Compile with C++20.
//
// What each part is, bottom up (see docs/README.md for the tour):
//   tensor/      tz::Tensor, tz::raw ops (graph-free), tz::Generator, tz::set_num_threads, tz::io
//   autograd/    the differentiable op set (tz::matmul, tz::softmax, ...), tz::NoGradGuard, gradcheck
//   nn/          tz::nn::Module and layers, tz::optim::{SGD, AdamW}, LR schedules, clip_grad_norm
//   models/      tz::models: the model interface, from_pretrained / save_pretrained / create for every
//                family of the zoo (tz::convbert, ...: each family's own classes, when needed)
//   tokenizer/   tz::tokenizer::WordPiece (HF fast-tokenizer compatible)
// Errors: everything throws tz::Error (a std::runtime_error) naming the bad value; nothing aborts.
// Not here: the CLI (cli/), tests and benchmarks, and the kernels (tensor/kernels/, internal).
#pragma once

// tensor
#include "core/error.h"
#include "tensor/io/checkpoint.h"
#include "tensor/ops.h"
#include "tensor/parallel.h"
#include "tensor/random.h"
#include "tensor/tensor.h"

// autograd
#include "autograd/grad_mode.h"
#include "autograd/gradcheck.h"
#include "autograd/ops.h"

// nn
#include "nn/nn.h"

// models: the interface and the registry (every family through them)
#include "models/config.h"
#include "models/model.h"
#include "models/registry.h"

// tokenizer
#include "tokenizer/encoding.h"
#include "tokenizer/wordpiece.h"
#include "tokenizer/vocab_builder.h"

#include "distributed/communicator.h"

#include "train/batching.h"
#include "train/checkpoint_dir.h"
#include "train/classification_dataset.h"
#include "train/loss_plot.h"
#include "train/metrics.h"
#include "train/metrics_log.h"
#include "train/mlm_collator.h"
#include "train/mlm_data.h"
#include "train/multiple_choice.h"
#include "train/question_answering.h"
#include "train/seqeval.h"
#include "train/squad_metric.h"
#include "train/text_dataset.h"
#include "train/token_classification.h"
#include "train/trainer.h"
