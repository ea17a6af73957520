// The `nn` namespace, as torch.nn: Module and its layers, plus nn.init.
export {
  Module, Parameter, isParameter, type StateDict, type LoadStateDictOptions, type LoadStateDictResult,
} from './module.js';
export { Linear, type LinearOptions } from './linear.js';
export { Embedding, type EmbeddingOptions } from './embedding.js';
export { BatchNorm1d, type BatchNormOptions } from './batchnorm.js';
export { LayerNorm, type LayerNormOptions } from './layernorm.js';
export { Dropout } from './dropout.js';
export { Conv1d, type Conv1dModuleOptions, type Conv1dPadding } from './conv.js';
export { Tanh, ReLU, Sigmoid, GELU } from './activation.js';
export { Flatten, Identity } from './flatten.js';
export { Sequential, ModuleList } from './container.js';
export type { FactoryOptions } from './options.js';
export * as init from './init.js';
