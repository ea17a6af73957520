// The error table: each bad input and the message it must give. Every error is a JS Error whose
// message starts with the op the user called and names the shapes or values at fault, in the spirit
// of PyTorch's "mat1 and mat2 shapes cannot be multiplied (32x6 and 2x100)". NaN-producing misuse
// that PyTorch refuses (targets out of range, a one-row batch norm, bad multinomial weights) must be
// refused here too. Every case runs on both backends, and after each error the native backend must
// still compute a known result: an error may never leave the addon in a broken state.
import { describe, expect, it } from 'vitest';
import {
  F, Generator, Tensor, arange, cat, eye, full, linspace, multinomial, noGrad, oneHot, ones, rand, randint, randn, setBackend,
  setDefaultDtype, stack, tensor, zeros,
} from '../index.js';
import { getBackend, withBackend, type BackendName } from '../src/backend/index.js';
import { native } from '../src/backend/native.js';

interface ErrorCase {
  name: string;
  fn: () => unknown;
  message: RegExp;
}

const i32 = (xs: number[]): Tensor => tensor(xs, { dtype: 'int32' });
const leaf = (shape: number[]): Tensor => zeros(shape, { requiresGrad: true });

const TABLE: ErrorCase[] = [
  // ---- matmul ----------------------------------------------------------------------------
  {
    name: 'matmul: 2-D inner dimensions differ (PyTorch\'s exact wording)',
    fn: () => zeros([32, 6]).matmul(zeros([2, 100])),
    message: /^matmul: mat1 and mat2 shapes cannot be multiplied \(32x6 and 2x100\)$/,
  },
  {
    name: 'matmul: vector @ matrix mismatch',
    fn: () => zeros([5]).matmul(zeros([4, 3])),
    message: /^matmul: .*\(1x5 and 4x3\)/,
  },
  {
    name: 'matmul: batched inner dimensions differ',
    fn: () => zeros([2, 3, 4]).matmul(zeros([2, 5, 6])),
    message: /^matmul: .*\[2, 3, 4\] and \[2, 5, 6\]/,
  },
  {
    name: 'matmul: batch dims that do not broadcast',
    fn: () => zeros([2, 3, 4]).matmul(zeros([3, 4, 5])),
    message: /^matmul: .*\(2\).*\(3\)|^matmul: .*\[2\].*\[3\]/,
  },
  {
    name: 'matmul: integer operands',
    fn: () => i32([1, 2]).matmul(i32([3, 4])),
    message: /^matmul: .*floating point.*int32/,
  },
  {
    name: 'matmul: float32 @ float64',
    fn: () => zeros([2, 2]).matmul(zeros([2, 2], { dtype: 'float64' })),
    message: /^matmul: .*same dtype.*float32 and float64/,
  },
  {
    name: 'matmul: a 0-d operand',
    fn: () => tensor(2).matmul(zeros([2])),
    message: /^matmul: .*at least 1D/,
  },

  // ---- broadcasting ----------------------------------------------------------------------
  {
    name: 'add: shapes that do not broadcast name the op and both shapes',
    fn: () => zeros([3, 4]).add(zeros([5])),
    message: /^add: .*\(4\).*\(5\).*dimension 1.*\[3, 4\] and \[5\]/,
  },
  { name: 'sub: broadcast mismatch', fn: () => zeros([2, 3]).sub(zeros([3, 2])), message: /^sub: .*\[2, 3\] and \[3, 2\]/ },
  { name: 'mul: broadcast mismatch', fn: () => zeros([4]).mul(zeros([3])), message: /^mul: .*\[4\] and \[3\]/ },
  { name: 'div: broadcast mismatch', fn: () => zeros([2, 1, 4]).div(zeros([3, 5])), message: /^div: .*\[2, 1, 4\] and \[3, 5\]/ },
  { name: 'pow: broadcast mismatch', fn: () => ones([2]).pow(ones([3])), message: /^pow: .*\[2\] and \[3\]/ },
  { name: 'eq: broadcast mismatch', fn: () => zeros([2]).eq(zeros([3])), message: /^eq: .*\[2\] and \[3\]/ },
  { name: 'maximum: broadcast mismatch', fn: () => zeros([2]).maximum(zeros([3])), message: /^maximum: .*\[2\] and \[3\]/ },
  {
    name: 'add_: the broadcast result must have the in-place tensor\'s shape',
    fn: () => zeros([3]).add_(zeros([2, 3])),
    message: /^add_: .*\[3\].*\[2, 3\]/,
  },
  { name: 'add: a string operand', fn: () => zeros([2]).add('1' as unknown as number), message: /^add: .*string/ },

  // ---- views and shapes ------------------------------------------------------------------
  { name: 'view: wrong number of elements', fn: () => arange(6).view(4), message: /^view: shape \[4\] is invalid for input of size 6/ },
  { name: 'view: -1 that cannot be inferred', fn: () => arange(6).view(-1, 4), message: /^view: shape \[-1, 4\] is invalid for input of size 6/ },
  { name: 'view: two -1', fn: () => arange(6).view(-1, -1), message: /^view: only one dimension can be inferred/ },
  {
    name: 'view: a non-contiguous tensor that would need a copy',
    fn: () => zeros([3, 4]).T.view(12),
    message: /^view: .*\[12\].*\[4, 3\].*reshape/,
  },
  { name: 'reshape: wrong number of elements', fn: () => zeros([2, 3]).reshape(7), message: /^reshape: shape \[7\] is invalid for input of size 6/ },
  { name: 'view: a negative size other than -1', fn: () => zeros([4]).view(-2, -2), message: /^view: .*-2/ },
  { name: 'permute: repeated dims', fn: () => zeros([2, 3]).permute(0, 0), message: /^permute: repeated dim.*\[0, 0\]/ },
  { name: 'permute: wrong number of dims', fn: () => zeros([2, 3]).permute(1, 0, 2), message: /^permute: .*2 dims.*3/ },
  {
    name: 'expand: a non-singleton dim cannot change',
    fn: () => zeros([2, 3]).expand(4, 3),
    message: /^expand: .*\(4\).*\(2\).*dimension 0/,
  },
  { name: 'flatten: startDim after endDim', fn: () => zeros([2, 3, 4]).flatten(2, 1), message: /^flatten: / },
  { name: 'slice: step 0', fn: () => zeros([4]).slice(0, 0, 4, 0), message: /^slice: step must be a positive integer, got 0/ },
  { name: 'select: index out of range', fn: () => zeros([3, 2]).select(0, 3), message: /^select: index 3 is out of bounds for dimension 0 with size 3/ },
  { name: 'select: negative index out of range', fn: () => zeros([3, 2]).select(1, -3), message: /^select: index -3 is out of bounds for dimension 1 with size 2/ },
  { name: 'select: a 0-d tensor', fn: () => tensor(3).select(0, 0), message: /^select: .*0-d/ },
  { name: 'T: more than 2 dims', fn: () => zeros([2, 3, 4]).T, message: /^T: .*\[2, 3, 4\]/ },

  // ---- dims out of range -----------------------------------------------------------------
  { name: 'sum: dim out of range', fn: () => zeros([2, 3]).sum(2), message: /^sum: dimension out of range \(expected to be in range of \[-2, 1\], but got 2\)/ },
  { name: 'mean: negative dim out of range', fn: () => zeros([2, 3]).mean(-3), message: /^mean: dimension out of range .*got -3/ },
  { name: 'sum: repeated dims', fn: () => zeros([2, 3]).sum([1, -1]), message: /^sum: .*multiple times/ },
  { name: 'max: dim out of range', fn: () => zeros([2, 3]).max(5), message: /^max: dimension out of range .*got 5/ },
  { name: 'argmax: dim out of range', fn: () => zeros([2, 3]).argmax(2), message: /^argmax: dimension out of range .*got 2|^max: dimension out of range/ },
  { name: 'softmax: dim out of range', fn: () => zeros([2, 3]).softmax(2), message: /^softmax: dimension out of range .*got 2/ },
  { name: 'logSoftmax: dim out of range', fn: () => zeros([4]).logSoftmax(-2), message: /^logSoftmax: dimension out of range .*got -2/ },
  { name: 'transpose: dim out of range', fn: () => zeros([2, 3]).transpose(0, 3), message: /^transpose: dimension out of range .*got 3/ },
  { name: 'unsqueeze: dim out of range', fn: () => zeros([3]).unsqueeze(2), message: /^unsqueeze: dimension out of range \(expected to be in range of \[-2, 1\], but got 2\)/ },
  { name: 'squeeze: dim out of range', fn: () => zeros([3]).squeeze(1), message: /^squeeze: dimension out of range/ },
  { name: 'size: dim out of range', fn: () => zeros([3]).size(1), message: /^size: dimension out of range/ },
  { name: 'cat: dim out of range', fn: () => cat([zeros([2]), zeros([2])], 1), message: /^cat: dimension out of range/ },
  { name: 'stack: dim out of range', fn: () => stack([zeros([2]), zeros([2])], 3), message: /^stack: dimension out of range/ },
  { name: 'var: dim out of range', fn: () => zeros([2, 3]).var(4), message: /^var: dimension out of range/ },

  // ---- creation ------------------------------------------------------------------------
  { name: 'zeros: negative size', fn: () => zeros([-1, 2]), message: /^zeros: .*invalid shape \[-1, 2\].*-1/ },
  { name: 'ones: fractional size', fn: () => ones([2.5]), message: /^ones: .*invalid shape \[2\.5\]/ },
  { name: 'full: negative size', fn: () => full([3, -4], 1), message: /^full: .*invalid shape \[3, -4\]/ },
  { name: 'randn: negative size', fn: () => randn([-3]), message: /^randn: .*invalid shape \[-3\]/ },
  { name: 'rand: negative size', fn: () => rand([2, -1]), message: /^rand: .*invalid shape \[2, -1\]/ },
  { name: 'tensor: ragged nested array (short row)', fn: () => tensor([[1, 2], [3]]), message: /^tensor: ragged nested array.*length 2.*dim 1.*\[1\].*length 1/ },
  { name: 'tensor: ragged nested array (too deep)', fn: () => tensor([1, [2]] as unknown as number[]), message: /^tensor: ragged nested array.*\[1\]/ },
  { name: 'tensor: ragged nested array (number where a row was expected)', fn: () => tensor([[1], 2] as unknown as number[][]), message: /^tensor: ragged nested array.*\[1\]/ },
  { name: 'tensor: a string element', fn: () => tensor(['a'] as unknown as number[]), message: /^tensor: element at \[0\] is string/ },
  { name: 'tensor: a fraction for int32', fn: () => tensor([1, 2.5], { dtype: 'int32' }), message: /^tensor: element 2\.5 at \[1\] is not an integer/ },
  {
    name: 'tensor: a typed array with the wrong shape',
    fn: () => tensor(new Float32Array(5), { shape: [2, 3] }),
    message: /^tensor: shape \[2, 3\] needs 6 elements, but the array has 5/,
  },
  { name: 'tensor: an unsupported dtype', fn: () => tensor([1], { dtype: 'float16' as never }), message: /^tensor: unsupported dtype float16/ },
  { name: 'arange: step 0', fn: () => arange(0, 5, 0), message: /^arange: step must be nonzero/ },
  { name: 'arange: step with the wrong sign', fn: () => arange(0, 5, -1), message: /^arange: .*inconsistent with step sign/ },
  { name: 'arange: NaN bound', fn: () => arange(0, NaN), message: /^arange: .*NaN/ },
  { name: 'linspace: negative steps', fn: () => linspace(0, 1, -2), message: /^linspace: number of steps must be a non-negative integer, got -2/ },
  { name: 'linspace: infinite end', fn: () => linspace(0, Infinity, 3), message: /^linspace: .*Infinity/ },
  { name: 'randint: high <= low', fn: () => randint(5, 5, [3]), message: /^randint: .*from=5 >= to=5/ },
  { name: 'randint: high < low', fn: () => randint(3, 1, [2]), message: /^randint: .*from=3 >= to=1/ },
  { name: 'randint: fractional bound', fn: () => randint(0, 2.5, [2]), message: /^randint: .*2\.5/ },
  { name: 'setDefaultDtype: int32', fn: () => setDefaultDtype('int32' as never), message: /^setDefaultDtype: .*int32/ },
  { name: 'to: unsupported dtype', fn: () => zeros([2]).to('bfloat16' as never), message: /^to: unsupported dtype bfloat16/ },
  { name: 'to(int32): NaN has no integer value', fn: () => tensor([1, NaN]).int(), message: /^to\(int32\): .*NaN at element 1/ },
  { name: 'setBackend: unknown name', fn: () => setBackend('gpu' as never), message: /^setBackend: unknown backend 'gpu'/ },

  // ---- requiresGrad and backward -------------------------------------------------------
  {
    name: 'requiresGrad on an int tensor',
    fn: () => {
      i32([1, 2]).requiresGrad = true;
    },
    message: /^requiresGrad: only floating point tensors can require gradients \(got dtype int32\)/,
  },
  { name: 'requiresGrad on an int tensor via creation options', fn: () => zeros([2], { dtype: 'int32', requiresGrad: true }), message: /^(zeros|full|requiresGrad): .*int32/ },
  { name: 'randint with requiresGrad', fn: () => randint(0, 3, [2], { requiresGrad: true }), message: /^(randint|requiresGrad): .*int32/ },
  { name: 'requiresGrad turned off on a non-leaf', fn: () => { leaf([2]).mul(2).requiresGrad = false; }, message: /^requiresGrad: .*leaf/ },
  {
    name: 'backward on a non-scalar without a gradient',
    fn: () => leaf([2, 3]).mul(2).backward(),
    message: /^backward: grad can be implicitly created only for scalar outputs.*\[2, ?3\]/,
  },
  {
    name: 'backward on a tensor that does not require grad',
    fn: () => zeros([1]).mul(2).sum().backward(),
    message: /^backward: element 0 of tensors does not require grad and does not have a grad_fn/,
  },
  {
    name: 'backward on a result computed under noGrad',
    fn: () => {
      const w = leaf([3]);
      noGrad(() => w.mul(2).sum()).backward();
    },
    message: /^backward: element 0 of tensors does not require grad/,
  },
  {
    name: 'backward with a gradient of the wrong shape',
    fn: () => leaf([2, 3]).mul(2).backward(ones([3, 2])),
    message: /^backward: mismatch in shape.*\[3, ?2\].*\[2, ?3\]/,
  },
  {
    // PyTorch's version counters: the saved w changed after it was used, so the gradient would be wrong.
    name: 'backward after an in-place update of a tensor the graph saved',
    fn: () => {
      const w = tensor([1, 2, 3], { requiresGrad: true });
      const y = w.mul(w).sum();
      noGrad(() => w.add_(1));
      y.backward();
    },
    message: /^backward: .*modified by an in-?place operation/,
  },
  { name: 'retainGrad on a tensor that does not require grad', fn: () => zeros([2]).retainGrad(), message: /^retainGrad: / },

  // ---- in place --------------------------------------------------------------------------
  { name: 'add_ on a leaf that requires grad', fn: () => leaf([2]).add_(1), message: /^add_: a leaf tensor that requires grad is being used in an in-place operation/ },
  { name: 'sub_ on a leaf that requires grad', fn: () => leaf([2]).sub_(ones([2]), 0.1), message: /^sub_: a leaf tensor that requires grad/ },
  { name: 'mul_ on a leaf that requires grad', fn: () => leaf([2]).mul_(0), message: /^mul_: a leaf tensor that requires grad/ },
  { name: 'zero_ on a leaf that requires grad', fn: () => leaf([2]).zero_(), message: /^zero_: a leaf tensor that requires grad/ },
  { name: 'fill_ on a leaf that requires grad', fn: () => leaf([2]).fill_(1), message: /^fill_: a leaf tensor that requires grad/ },
  { name: 'copy_ on a leaf that requires grad', fn: () => leaf([2]).copy_(ones([2])), message: /^copy_: a leaf tensor that requires grad/ },
  { name: 'add_ on a non-leaf in the graph', fn: () => leaf([2]).exp().add_(1), message: /^add_: in-place operations on a tensor that is part of the autograd graph/ },
  { name: 'copy_ from a shape that does not broadcast', fn: () => zeros([2, 3]).copy_(zeros([2])), message: /^copy_: .*\[2, 3\] and \[2\]/ },
  { name: 'div_ on an int tensor', fn: () => i32([4]).div_(2), message: /^div_: .*int32/ },
  // Several elements of an expanded view share one memory location: the result of writing them is
  // ambiguous, so PyTorch refuses ("more than one element of the written-to tensor refers to a
  // single memory location. Please clone() the tensor before performing the operation").
  { name: 'copy_ into an expanded view', fn: () => zeros([1]).expand(3).copy_(tensor([1, 2, 3])), message: /^copy_: .*more than one element of the written-to tensor refers to a single memory location/ },
  { name: 'add_ into an expanded view', fn: () => zeros([2, 1]).expand(2, 3).add_(ones([2, 3])), message: /^add_: .*more than one element of the written-to tensor refers to a single memory location/ },

  // ---- cat / stack -----------------------------------------------------------------------
  {
    name: 'cat: sizes differ outside the cat dim',
    fn: () => cat([zeros([2, 3]), zeros([2, 4])], 0),
    message: /^cat: sizes of tensors must match except in dimension 0\. Expected size 3 but got size 4 for tensor number 1.*\[2, 3\] and \[2, 4\]/,
  },
  { name: 'cat: different numbers of dims', fn: () => cat([zeros([2, 3]), zeros([2, 3, 1])], 0), message: /^cat: .*same number of dimensions.*\[2, 3\] and \[2, 3, 1\]/ },
  { name: 'cat: an empty list', fn: () => cat([]), message: /^cat: expected a non-empty list/ },
  { name: 'cat: a 0-d tensor', fn: () => cat([tensor(1), tensor(2)]), message: /^cat: zero-dimensional tensor/ },
  { name: 'cat: a non-tensor element', fn: () => cat([zeros([2]), [1, 2] as unknown as Tensor]), message: /^cat: element 1 is not a Tensor/ },
  { name: 'stack: unequal shapes', fn: () => stack([zeros([2, 3]), zeros([3, 2])]), message: /^stack: .*\[2, 3\] at entry 0 and \[3, 2\] at entry 1/ },

  // ---- indexing --------------------------------------------------------------------------
  { name: 'index: index past the end', fn: () => zeros([27, 2]).index(i32([3, 27])), message: /^index: index 27 is out of bounds for dimension 0 with size 27/ },
  { name: 'index: negative index past the start', fn: () => zeros([5, 2]).index(i32([-6])), message: /^index: index -6 is out of bounds for dimension 0 with size 5/ },
  { name: 'index: second index tensor out of range', fn: () => zeros([4, 5]).index([arange(4), i32([0, 1, 5, 2])]), message: /^index: index 5 is out of bounds for dimension 1 with size 5/ },
  { name: 'index: a float index tensor', fn: () => zeros([5, 2]).index(tensor([0, 1])), message: /^index: tensors used as indices must be int32 tensors, but index 0 has dtype float32/ },
  { name: 'index: fractional numbers', fn: () => zeros([5]).index([0.5, 1]), message: /^index: .*0\.5/ },
  { name: 'index: too many indices', fn: () => zeros([5]).index([arange(1), arange(1)]), message: /^index: too many indices for tensor of dimension 1 \(got 2\)/ },
  { name: 'index: index tensors that do not broadcast', fn: () => zeros([4, 5]).index([arange(3), arange(2)]), message: /^index: .*\[3\] and \[2\]/ },
  { name: 'index: an index into an empty dim', fn: () => zeros([0, 3]).index(i32([0])), message: /^index: index 0 is out of bounds for dimension 0 with size 0/ },

  // ---- crossEntropy ----------------------------------------------------------------------
  { name: 'crossEntropy: target past the last class', fn: () => F.crossEntropy(zeros([3, 5]), i32([0, 5, 1])), message: /^crossEntropy: target 5 at position 1 is out of bounds for 5 classes/ },
  { name: 'crossEntropy: negative target', fn: () => F.crossEntropy(zeros([3, 5]), i32([0, 1, -1])), message: /^crossEntropy: target -1 at position 2 is out of bounds for 5 classes/ },
  { name: 'crossEntropy: target of the wrong length', fn: () => F.crossEntropy(zeros([3, 5]), i32([0, 1, 2, 3])), message: /^crossEntropy: expected target of shape \[3\] for logits \[3, 5\], got \[4\]/ },
  { name: 'crossEntropy: 2-D target', fn: () => F.crossEntropy(zeros([3, 5]), zeros([3, 1], { dtype: 'int32' })), message: /^crossEntropy: expected target of shape \[3\].*\[3, 1\]/ },
  { name: 'crossEntropy: float target', fn: () => F.crossEntropy(zeros([3, 5]), tensor([0, 1, 2])), message: /^crossEntropy: expected target of dtype int32, got float32/ },
  { name: 'crossEntropy: 3-D logits', fn: () => F.crossEntropy(zeros([2, 3, 5]), i32([0, 1])), message: /^crossEntropy: expected logits of shape \[N, C\], got \[2, 3, 5\]/ },
  { name: 'crossEntropy: int logits', fn: () => F.crossEntropy(zeros([2, 3], { dtype: 'int32' }), i32([0, 1])), message: /^crossEntropy: .*floating point.*int32/ },
  { name: 'crossEntropy: unknown reduction', fn: () => F.crossEntropy(zeros([2, 3]), i32([0, 1]), { reduction: 'avg' as never }), message: /^crossEntropy: reduction must be/ },

  // ---- batchNorm ----------------------------------------------------------------------
  {
    name: 'batchNorm: one row in training (unbiased variance, as in the lectures)',
    fn: () => F.batchNorm(ones([1, 4]), { correction: 1 }),
    message: /^batchNorm: expected more than 1 value per channel when training, got input size \[1, 4\]/,
  },
  {
    name: 'batchNorm: one row in training (PyTorch\'s biased default also refuses)',
    fn: () => F.batchNorm(ones([1, 4])),
    message: /^batchNorm: expected more than 1 value per channel when training, got input size \[1, 4\]/,
  },
  {
    name: 'batchNorm: [1, 1, C] in training is one value per channel too',
    fn: () => F.batchNorm(ones([1, 1, 3])),
    message: /^batchNorm: expected more than 1 value per channel when training, got input size \[1, 1, 3\]/,
  },
  { name: 'batchNorm: weight of the wrong size', fn: () => F.batchNorm(ones([4, 3]), { weight: ones([4]) }), message: /^batchNorm: weight should have 3 elements.*\[4\]/ },
  { name: 'batchNorm: eval without running statistics', fn: () => F.batchNorm(ones([4, 3]), { training: false }), message: /^batchNorm: eval mode .*runningMean and runningVar/ },
  { name: 'batchNorm: 1-D input', fn: () => F.batchNorm(ones([4])), message: /^batchNorm: expected 2D .*\[4\]/ },
  { name: 'batchNorm: int input', fn: () => F.batchNorm(zeros([4, 3], { dtype: 'int32' })), message: /^batchNorm: .*floating point.*int32/ },
  { name: 'batchNorm: eps not positive when training', fn: () => F.batchNorm(ones([4, 3]), { eps: 0 }), message: /^batchNorm: eps must be a finite number > 0 when training, got 0$/ },

  // ---- conv1d ----------------------------------------------------------------------------
  {
    name: 'conv1d: input channels differ from the weight\'s',
    fn: () => F.conv1d(zeros([2, 3, 10]), zeros([4, 2, 3])),
    message: /^conv1d: given weight of size \[4, 2, 3\], expected input \[2, 3, 10\] to have 2 channels, but got 3 channels instead/,
  },
  { name: 'conv1d: input shorter than the kernel', fn: () => F.conv1d(zeros([1, 2, 2]), zeros([3, 2, 3])), message: /^conv1d: input length 2 is smaller than the kernel's receptive field 3/ },
  { name: 'conv1d: dilated kernel longer than the input', fn: () => F.conv1d(zeros([1, 1, 4]), zeros([1, 1, 2]), null, { dilation: 4 }), message: /^conv1d: input length 4 is smaller than the kernel's receptive field 5/ },
  { name: 'conv1d: 2-D input', fn: () => F.conv1d(zeros([3, 10]), zeros([4, 3, 3])), message: /^conv1d: expected 3D input.*\[3, 10\]/ },
  { name: 'conv1d: bias of the wrong size', fn: () => F.conv1d(zeros([1, 3, 10]), zeros([4, 3, 3]), zeros([3])), message: /^conv1d: expected bias of shape \[4\].*\[3\]/ },
  { name: 'conv1d: dilation 0', fn: () => F.conv1d(zeros([1, 3, 10]), zeros([4, 3, 3]), null, { dilation: 0 }), message: /^conv1d: dilation must be a positive integer, got 0/ },

  // ---- oneHot ----------------------------------------------------------------------------
  { name: 'oneHot: class id past numClasses', fn: () => oneHot(i32([0, 3]), 3), message: /^oneHot: .*3.*position 1.*3 classes/ },
  { name: 'oneHot: negative class id', fn: () => F.oneHot(i32([-1]), 3), message: /^oneHot: .*-1/ },
  { name: 'oneHot: float input', fn: () => oneHot(tensor([0, 1]), 2), message: /^oneHot: expected an int32 tensor of class indices, got float32/ },
  { name: 'oneHot: zero classes', fn: () => oneHot(i32([0]), 0), message: /^oneHot: numClasses must be a positive integer, got 0/ },

  // ---- wrong argument types --------------------------------------------------------------
  { name: 'matmul: a plain array operand', fn: () => zeros([2]).matmul([1, 2] as unknown as Tensor), message: /^matmul: both operands must be Tensors/ },
  { name: 'mul: a null operand', fn: () => zeros([2]).mul(null as unknown as number), message: /^mul: expected a Tensor or a number.*null/ },
  { name: 'randn: a generator that is not a Generator', fn: () => randn([2], { generator: {} as Generator }), message: /^randn: generator must be a Generator/ },
  { name: 'randint: a generator that is not a Generator', fn: () => randint(0, 3, [2], { generator: {} as Generator }), message: /^randint: generator must be a Generator/ },
  { name: 'multinomial: a generator that is not a Generator', fn: () => multinomial(ones([3]), 1, { generator: {} as Generator }), message: /^multinomial: generator must be a Generator/ },
  { name: 'randint: negative size', fn: () => randint(0, 3, [-1]), message: /^randint: .*invalid shape \[-1\]/ },
  { name: 'eye: negative size', fn: () => eye(-1), message: /^eye: .*-1/ },
  { name: 'index: a list of numbers with one out of range', fn: () => zeros([5]).index([1, 2, 10]), message: /^index: index 10 is out of bounds for dimension 0 with size 5/ },
  { name: 'histogram: NaN data with the default range', fn: () => tensor([1, NaN, 2]).histogram({ bins: 2 }), message: /^histogram: .*NaN/ },
  { name: 'histogram: zero bins', fn: () => tensor([1, 2]).histogram({ bins: 0 }), message: /^histogram: bins must be a positive integer, got 0/ },
  { name: 'histogram: reversed range', fn: () => tensor([1, 2]).histogram({ range: [2, 1] }), message: /^histogram: range must be finite with min <= max, got \[2, 1\]/ },
  { name: 'clamp: neither bound', fn: () => zeros([2]).clamp(), message: /^clamp: at least one of min or max/ },
  { name: 'expand: fewer sizes than dims', fn: () => zeros([2, 3]).expand(3), message: /^expand: the number of sizes provided \(1\) must be greater or equal to the number of dimensions in the tensor \(2\)/ },
  { name: 'batchNorm: momentum outside [0, 1]', fn: () => F.batchNorm(ones([4, 3]), { momentum: 2 }), message: /^batchNorm: momentum must be in \[0, 1\], got 2/ },

  // ---- reading values --------------------------------------------------------------------
  { name: 'item: more than one element', fn: () => zeros([2, 3]).item(), message: /^item: a Tensor with 6 elements cannot be converted to a number \(shape \[2,3\]\)/ },
  { name: 'item: no elements', fn: () => zeros([0]).item(), message: /^item: a Tensor with 0 elements/ },

  // ---- reductions of nothing -------------------------------------------------------------
  { name: 'max: an empty tensor', fn: () => zeros([0]).max(), message: /^max: expected a non-empty tensor/ },
  { name: 'min: an empty reduction dim', fn: () => zeros([2, 0]).min(1), message: /^min: expected reduction dim 1 to have non-zero size/ },
  { name: 'argmax: an empty tensor', fn: () => zeros([0]).argmax(), message: /^argmax: expected a non-empty tensor/ },
  { name: 'mean: an int tensor', fn: () => arange(4).mean(), message: /^mean: .*int32/ },
  { name: 'var: negative correction', fn: () => ones([3]).var(0, { correction: -1 }), message: /^var: correction must be a non-negative number, got -1/ },

  // ---- multinomial -----------------------------------------------------------------------
  { name: 'multinomial: a negative probability', fn: () => multinomial(tensor([0.5, -0.1, 0.6]), 1), message: /^multinomial: invalid multinomial distribution \(probability entry 1 is -0\.1/ },
  { name: 'multinomial: a NaN probability', fn: () => multinomial(tensor([0.5, NaN]), 1, { replacement: true }), message: /^multinomial: invalid multinomial distribution.*NaN/ },
  { name: 'multinomial: an infinite probability', fn: () => multinomial(tensor([Infinity, 1]), 1, { replacement: true }), message: /^multinomial: invalid multinomial distribution.*nfinity/ },
  { name: 'multinomial: all zeros', fn: () => multinomial(zeros([4]), 2, { replacement: true }), message: /^multinomial: invalid multinomial distribution \(sum of probabilities <= 0\)/ },
  { name: 'multinomial: more samples than categories without replacement', fn: () => multinomial(ones([3]), 4), message: /^multinomial: cannot sample numSamples=4 > prob_dist.size\(-1\)=3 samples without replacement/ },
  { name: 'multinomial: 3-D probabilities', fn: () => multinomial(ones([2, 2, 2]), 1), message: /^multinomial: prob_dist must be 1 or 2 dim/ },
  { name: 'multinomial: zero samples', fn: () => multinomial(ones([3]), 0), message: /^multinomial: .*0/ },
  { name: 'multinomial: a bad row among good ones', fn: () => multinomial(tensor([[1, 1], [1, -1]]), 1, { replacement: true }), message: /^multinomial: invalid multinomial distribution.*-1 < 0/ },
];

/** A small computation with known results on the current backend: a 2x3 @ 3x2 product, a
 *  cross-entropy and its gradient. Run after every error to show that nothing was left broken. */
function healthy(): void {
  const a = tensor([[1, 2, 3], [4, 5, 6]], { requiresGrad: true });
  const b = tensor([[1, 0], [0, 1], [1, 1]]);
  const logits = a.matmul(b);
  expect(logits.tolist()).toEqual([[4, 5], [10, 11]]);
  const loss = F.crossEntropy(logits, i32([1, 0]));
  // Row losses: -log softmax([4, 5])[1] = log(1 + e^-1); -log softmax([10, 11])[0] = log(1 + e^1).
  expect(loss.item()).toBeCloseTo((Math.log1p(Math.exp(-1)) + Math.log1p(Math.exp(1))) / 2, 5);
  loss.backward();
  const s = 1 / (1 + Math.exp(-1)); // sigmoid(1)
  // dlogits = (softmax - onehot) / 2, then dA = dlogits @ b^T.
  const d = [[(1 - s) / 2, (s - 1) / 2], [-s / 2, s / 2]];
  const expectGrad = d.map(([p, q]) => [p, q, p + q]);
  const got = a.grad!.tolist() as number[][];
  got.forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(expectGrad[i][j], 6)));
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

const BACKENDS: BackendName[] = ['native', 'reference'];

for (const be of BACKENDS) {
  describe(`error table on the ${be} backend`, () => {
    it('every case has a distinct name', () => {
      expect(new Set(TABLE.map((c) => c.name)).size).toBe(TABLE.length);
    });

    for (const c of TABLE) {
      it(c.name, { timeout: 5000 }, () => {
        withBackend(be, () => {
          const err = thrown(c.fn);
          expect(err, `${c.name}: expected an error, but the call returned`).toBeInstanceOf(Error);
          expect((err as Error).message).toMatch(c.message);
        });
        // The native backend still works after the error.
        withBackend('native', healthy);
      });
    }
  });
}

describe('setBackend after a refused name keeps the previous backend', () => {
  it('float32 work still runs after setBackend("gpu") throws', () => {
    withBackend('native', () => {
      expect(() => setBackend('gpu' as never)).toThrow(/setBackend/);
      expect(getBackend().name).toBe('native');
      healthy();
    });
  });
});

describe('kernel boundary: the backends re-check what reaches them', () => {
  // These bypass the tensor layer's checks to show that a bad call into a kernel surfaces as a JS
  // Error naming the kernel (no crash, no out-of-bounds read) and that the next call still works.
  const cases: { name: string; method: RegExp; fn: () => unknown }[] = [
    {
      name: 'indexSelect with a row id past the end',
      method: /indexSelect/,
      fn: () => getBackend().indexSelect(new Float32Array(6), 2, Int32Array.of(0, 3), new Float32Array(4)),
    },
    {
      name: 'indexSelect with a negative row id',
      method: /indexSelect/,
      fn: () => getBackend().indexSelect(new Float32Array(6), 2, Int32Array.of(-1), new Float32Array(2)),
    },
    {
      name: 'putAdd with a flat index past the end',
      method: /putAdd/,
      fn: () => getBackend().putAdd(new Float32Array(1), Int32Array.of(4), new Float32Array(4)),
    },
    {
      name: 'indexAdd with a row id past the end',
      method: /indexAdd/,
      fn: () => getBackend().indexAdd(new Float32Array(2), 2, Int32Array.of(5), new Float32Array(6)),
    },
    {
      name: 'matmul with an output too short',
      method: /matmul/,
      fn: () => getBackend().matmul(new Float32Array(6), 0, 0, false, new Float32Array(6), 0, 0, false, new Float32Array(3), 1, 2, 3, 2),
    },
    {
      name: 'matmul with an operand too short',
      method: /matmul/,
      fn: () => getBackend().matmul(new Float32Array(5), 0, 0, false, new Float32Array(6), 0, 0, false, new Float32Array(4), 1, 2, 3, 2),
    },
    {
      name: 'matmul with a negative size',
      method: /matmul/,
      fn: () => getBackend().matmul(new Float32Array(6), 0, 0, false, new Float32Array(6), 0, 0, false, new Float32Array(4), 1, -2, 3, 2),
    },
    {
      name: 'crossEntropyForward with a target out of range',
      method: /crossEntropy/,
      fn: () => getBackend().crossEntropyForward(new Float32Array(6), 2, 3, Int32Array.of(0, 3), -100, new Float32Array(6)),
    },
    {
      name: 'copy reading past the end of the source',
      method: /copy/,
      fn: () => getBackend().copy(new Float32Array(4), 0, [4, 1], new Float32Array(8), 0, [4, 1], [2, 4]),
    },
    {
      name: 'unary with mismatched lengths',
      method: /unary/,
      fn: () => getBackend().unary(0, new Float32Array(4), new Float32Array(3)),
    },
    {
      name: 'conv1dForward with a weight too short',
      method: /conv1d/,
      fn: () => getBackend().conv1dForward(new Float32Array(10), 1, 1, 10, new Float32Array(2), 1, 3, 1, 0, null, new Float32Array(8), 8),
    },
    {
      name: 'sum with an output too short',
      method: /sum/,
      fn: () => getBackend().sum(new Float32Array(12), 3, 4, 1, new Float32Array(2)),
    },
  ];
  for (const be of BACKENDS) {
    for (const c of cases) {
      it(`${be}: ${c.name}`, { timeout: 5000 }, () => {
        withBackend(be, () => {
          const err = thrown(c.fn);
          expect(err).toBeInstanceOf(Error);
          expect((err as Error).message).toMatch(c.method);
        });
        withBackend('native', healthy);
      });
    }
  }
});

describe('a panic inside the addon', () => {
  it('surfaces as a JS Error, and the next native call still works', { timeout: 5000 }, () => {
    for (let i = 0; i < 3; i++) {
      const err = thrown(() => native.debugPanic());
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message.length).toBeGreaterThan(0);
      withBackend('native', healthy);
    }
  });
});

describe('a seeded computation is unaffected by errors in between', () => {
  it('the same seed gives the same numbers whether or not errors were thrown in between', () => {
    const run = (withErrors: boolean): number[] =>
      withBackend('native', () => {
        const g = new Generator().manualSeed(7);
        const W = randn([8, 4], { generator: g });
        if (withErrors) for (const c of TABLE.slice(0, 10)) thrown(c.fn);
        const x = randn([5, 8], { generator: g });
        return Array.from(x.matmul(W).tanh().toArray());
      });
    expect(run(true)).toEqual(run(false));
  });
});
