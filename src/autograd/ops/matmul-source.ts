/**
 * The matmul kernels' WGSL per dtype variant: shaders/matmul.wgsl and matmul_reduce.wgsl with their
 * dtype-dependent bindings prepended (src/gpu/wgsl-storage.ts), so each stays one kernel for f32 and
 * f16 tensors alike. Used by ops/matmul.ts.
 */
import source from '../../../shaders/matmul.wgsl?raw';
import reduceSource from '../../../shaders/matmul_reduce.wgsl?raw';
import { type StorageDType, wgslReader, wgslWriter, WGSL_ROUND_HALF } from '../../gpu/wgsl-storage';

/**
 * `fn name_at4(i) -> vec4f`, elements i .. i + 3 of an operand. f32: four array reads (the kernel's
 * loads as they always were). f16 with i even (`aligned`: the row stride is even, and the kernel's
 * vec4s start at multiples of 4 within a row): two whole words. Otherwise element by element.
 */
function at4(name: string, dtype: StorageDType, aligned: boolean): string {
  if (dtype === 'f32')
    return `fn ${name}_at4(i: u32) -> vec4f { return vec4f(${name}[i], ${name}[i + 1u], ${name}[i + 2u], ${name}[i + 3u]); }\n`;
  if (aligned)
    return `fn ${name}_at4(i: u32) -> vec4f { return vec4f(unpack2x16float(${name}[i >> 1u]), unpack2x16float(${name}[(i >> 1u) + 1u])); }\n`;
  return `fn ${name}_at4(i: u32) -> vec4f { return vec4f(${name}_at(i), ${name}_at(i + 1u), ${name}_at(i + 2u), ${name}_at(i + 3u)); }\n`;
}

/** shaders/matmul.wgsl for one choice of operand and output dtypes (the pipeline cache keys on the text). */
export function mmSource(
  a: StorageDType,
  alignedA: boolean,
  b: StorageDType,
  alignedB: boolean,
  c: StorageDType,
): string {
  return (
    WGSL_ROUND_HALF +
    wgslReader('mm_a', 1, a) +
    at4('mm_a', a, alignedA) +
    wgslReader('mm_b', 2, b) +
    at4('mm_b', b, alignedB) +
    wgslWriter('mm_c', 3, c) +
    source
  );
}

/** shaders/matmul_reduce.wgsl with the split-K output as `c` (the bias-gradient kernels use the f32 one). */
export const reduceCode = (c: StorageDType) => wgslWriter('red_out', 2, c) + reduceSource;
