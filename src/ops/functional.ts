// The `F` namespace, as torch.nn.functional: the fused and composite ops a model calls.
export { crossEntropy, type CrossEntropyOptions } from './cross-entropy.js';
export { batchNorm, type BatchNormOptions } from './batchnorm.js';
export { conv1d, type Conv1dOptions } from './conv1d.js';
export { oneHot } from '../tensor/creation.js';
export { linear } from './linear.js';
export { embedding } from './embedding.js';
export { layerNorm } from './layernorm.js';
export { gelu, type GeluApproximate } from './gelu.js';
export { dropout } from './dropout.js';
import { softmax as softmaxOp } from './softmax.js';
import type { Tensor } from '../tensor/tensor.js';

export const softmax = (x: Tensor, dim = -1): Tensor => softmaxOp(x, dim, false);
export const logSoftmax = (x: Tensor, dim = -1): Tensor => softmaxOp(x, dim, true);
export const tanh = (x: Tensor): Tensor => x.tanh();
export const relu = (x: Tensor): Tensor => x.relu();
export const sigmoid = (x: Tensor): Tensor => x.sigmoid();
