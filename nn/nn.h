// The nn layer in one include: modules and layers, HF activations by name, initialisation,
// gradient clipping, optimizers and LR schedules. Losses are functions of the op set
// (tz::cross_entropy, tz::mse_loss, tz::bce_with_logits in autograd/ops.h).
#pragma once

#include "nn/activation.h"
#include "nn/clip_grad.h"
#include "nn/init.h"
#include "nn/layers.h"
#include "nn/lr_schedule.h"
#include "nn/module.h"
#include "nn/optim.h"
