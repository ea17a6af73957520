// compile(fn): record a training step once, replay it after (see compile.ts).
export { compile, type Compiled, type CompiledInfo, type CompileOptions } from './compile.js';
