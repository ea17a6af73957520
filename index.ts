// ferrograd's public API: re-exports only.
export { Tensor, isTensor, type TensorOrScalar, type NestedArray } from './src/tensor/tensor.js';
export {
  tensor, zeros, ones, full, zerosLike, onesLike, arange, linspace, rand, randn, randint, multinomial, oneHot, eye,
  type CreateOptions, type RandomOptions,
} from './src/tensor/creation.js';
export { getDefaultDtype, setDefaultDtype, type DType, type FloatDType } from './src/tensor/dtype.js';
export { noGrad, enableGrad, isGradEnabled, setGradEnabled } from './src/autograd/grad-mode.js';
export { gradcheck, type GradcheckOptions, type GradcheckResult } from './src/autograd/gradcheck.js';
export { cat, stack } from './src/ops/join.js';
export { matmul } from './src/ops/matmul.js';
export { indexAdd, type IndexAddOptions } from './src/ops/index-add.js';
export { isclose, allclose, type CloseOptions } from './src/ops/allclose.js';
export { where } from './src/ops/where.js';
export { histogram, type Histogram, type HistogramOptions } from './src/ops/histogram.js';
export * as F from './src/ops/functional.js';
export * as nn from './src/nn/index.js';
export { Generator, manualSeed, initialSeed, defaultGenerator } from './src/random/generator.js';
export { PyRandom } from './src/random/pyrandom.js';
export { getBackend, setBackend, backendFor, nativeAvailable } from './src/backend/index.js';
export type { Backend } from './src/backend/backend.js';
export { withBackend, referenceBackend } from './src/backend/index.js';
export * as micrograd from './src/micrograd/index.js';
export * as makemore from './src/makemore/index.js';
export * as viz from './src/viz/index.js';
export * as optim from './src/optim/index.js';
export * as io from './src/io/index.js';
export { NumpyRandomState } from './src/random/numpy.js';
export { compile, type Compiled, type CompiledInfo, type CompileOptions } from './src/compile/index.js';
