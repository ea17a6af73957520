// Elementwise activation modules (no parameters): Tanh, ReLU, Sigmoid, GELU. Like every module
// they accept { generator } (unused: they draw nothing), so model builders can pass it uniformly.
import { Tensor } from '../tensor/tensor.js';
import type { Generator } from '../random/generator.js';
import { Module } from './module.js';
import { gelu, type GeluApproximate } from '../ops/gelu.js';

export class Tanh extends Module {
  constructor(_opts: { generator?: Generator } = {}) {
    super();
  }

  forward(input: Tensor): Tensor {
    return input.tanh();
  }
}

export class ReLU extends Module {
  constructor(_opts: { generator?: Generator } = {}) {
    super();
  }

  forward(input: Tensor): Tensor {
    return input.relu();
  }
}

export class Sigmoid extends Module {
  constructor(_opts: { generator?: Generator } = {}) {
    super();
  }

  forward(input: Tensor): Tensor {
    return input.sigmoid();
  }
}

export class GELU extends Module {
  readonly approximate: GeluApproximate;

  constructor(opts: { approximate?: GeluApproximate; generator?: Generator } = {}) {
    super();
    const a = opts.approximate ?? 'none';
    if (a !== 'none' && a !== 'tanh') throw new Error(`GELU: approximate must be 'none' or 'tanh', got ${String(a)}`);
    this.approximate = a;
  }

  forward(input: Tensor): Tensor {
    return gelu(input, { approximate: this.approximate });
  }

  override extraRepr(): string {
    return `approximate='${this.approximate}'`;
  }
}
