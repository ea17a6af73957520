// micrograd: the scalar autograd engine and tiny neural-net library of lecture 1, in TypeScript.
export { Value, topoSort, type Operand } from './value.js';
export { Module, Neuron, Layer, MLP, manualSeed, type Activation, type NeuronOptions, type MLPOptions, type UniformSource } from './nn.js';
export { drawDot, renderGraph, writeGraph, type DrawOptions } from './draw.js';
export { makeMoons, linspace, type Moons } from './moons.js';
export { trainMoons, moonsLoss, type TrainMoonsOptions, type TrainMoonsResult, type MoonsStep, type MoonsLoss } from './demo.js';
export { decisionBoundarySpec, writeDecisionBoundary, type BoundaryOptions } from './plot.js';
export { pyFloat } from './format.js';
