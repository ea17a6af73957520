// optim: optimizers (torch.optim's update rules, in place), gradient clipping, learning-rate schedules.
export {
  Optimizer,
  type OptimizerStateDict, type ParamGroup, type ParamGroupSpec, type Params, type NamedParam, type ParamState, type LrGroupOptions, type Closure,
} from './optimizer.js';
export { SGD, type SGDOptions, type SGDState } from './sgd.js';
