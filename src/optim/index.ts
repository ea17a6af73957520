// optim: optimizers (torch.optim's update rules, in place), gradient clipping, learning-rate schedules.
export {
  Optimizer,
  stateDictToTorch, stateDictFromTorch, type TorchOptimizerStateDict,
  type OptimizerStateDict, type ParamGroup, type ParamGroupSpec, type Params, type NamedParam, type ParamState, type LrGroupOptions, type Closure,
} from './optimizer.js';
export { SGD, type SGDOptions, type SGDState } from './sgd.js';
export { Adam, AdamW, type AdamOptions, type AdamState } from './adam.js';
export { clipGradNorm_, clipGradValue_, type ClipGradNormOptions } from './clip-grad.js';
export {
  LRScheduler, LambdaLR, MultiplicativeLR, ScheduleLR, StepLR, MultiStepLR, ExponentialLR, LinearLR, CosineAnnealingLR,
  type SchedulerStateDict,
} from './lr-scheduler.js';
