/**
 * A safetensors tensor's elements as numbers: float dtypes (F32, F64, F16, BF16) to Float32Array or
 * Float64Array, integer dtypes to Int32Array. Views into the file are generally unaligned, so
 * values are copied out.
 */
import { LITTLE_ENDIAN, SafetensorsError, shapeSize, type SafeTensor } from './safetensors-format';

/** A fresh, exactly sized, aligned copy (Uint8Array.from semantics even if handed a Buffer). */
function copyBytes(data: Uint8Array): ArrayBuffer {
  const out = new ArrayBuffer(data.byteLength);
  new Uint8Array(out).set(data);
  return out;
}

function dataView(t: SafeTensor): DataView {
  return new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

/** IEEE half -> number (exact: every f16 is representable in f32). */
export function f16ToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24; // zero / subnormal
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

const bf16Scratch = new DataView(new ArrayBuffer(4));
function bf16ToNumber(b: number): number {
  bf16Scratch.setUint32(0, b << 16, false);
  return bf16Scratch.getFloat32(0, false);
}

function readFloats<T extends Float32Array | Float64Array>(t: SafeTensor, out: T, want: string): T {
  const v = dataView(t);
  const n = out.length;
  switch (t.dtype) {
    case 'F32':
      for (let i = 0; i < n; i++) out[i] = v.getFloat32(i * 4, true);
      break;
    case 'F64':
      for (let i = 0; i < n; i++) out[i] = v.getFloat64(i * 8, true);
      break;
    case 'F16':
      for (let i = 0; i < n; i++) out[i] = f16ToNumber(v.getUint16(i * 2, true));
      break;
    case 'BF16':
      for (let i = 0; i < n; i++) out[i] = bf16ToNumber(v.getUint16(i * 2, true));
      break;
    default:
      throw new SafetensorsError(`tensor ${t.name} has dtype ${t.dtype}, which cannot be read as ${want}`);
  }
  return out;
}

/** F32/F64/F16/BF16 -> a fresh Float32Array (F64 rounds to nearest float32). */
export function tensorAsFloat32(t: SafeTensor): Float32Array<ArrayBuffer> {
  const n = shapeSize(t.shape);
  // Fast path: copying the bytes into a fresh buffer also fixes alignment.
  if (t.dtype === 'F32' && LITTLE_ENDIAN) return new Float32Array(copyBytes(t.data), 0, n);
  return readFloats(t, new Float32Array(n), 'float32');
}

/** F32/F64/F16/BF16 -> a fresh Float64Array. */
export function tensorAsFloat64(t: SafeTensor): Float64Array<ArrayBuffer> {
  const n = shapeSize(t.shape);
  if (t.dtype === 'F64' && LITTLE_ENDIAN) return new Float64Array(copyBytes(t.data), 0, n);
  return readFloats(t, new Float64Array(n), 'float64');
}

/** Integer dtypes -> a fresh Int32Array; 64-bit and unsigned values must fit in int32. */
export function tensorAsInt32(t: SafeTensor): Int32Array<ArrayBuffer> {
  const n = shapeSize(t.shape);
  if (t.dtype === 'I32' && LITTLE_ENDIAN) return new Int32Array(copyBytes(t.data), 0, n);
  const v = dataView(t);
  const out = new Int32Array(n);
  const check = (x: number | bigint, i: number): number => {
    if (x < -0x80000000 || x > 0x7fffffff) {
      throw new SafetensorsError(`tensor ${t.name} (${t.dtype}) element ${i} = ${x} does not fit in int32`);
    }
    return Number(x);
  };
  switch (t.dtype) {
    case 'I32':
      for (let i = 0; i < n; i++) out[i] = v.getInt32(i * 4, true);
      break;
    case 'U32':
      for (let i = 0; i < n; i++) out[i] = check(v.getUint32(i * 4, true), i);
      break;
    case 'I64':
      for (let i = 0; i < n; i++) out[i] = check(v.getBigInt64(i * 8, true), i);
      break;
    case 'U64':
      for (let i = 0; i < n; i++) out[i] = check(v.getBigUint64(i * 8, true), i);
      break;
    case 'I16':
      for (let i = 0; i < n; i++) out[i] = v.getInt16(i * 2, true);
      break;
    case 'U16':
      for (let i = 0; i < n; i++) out[i] = v.getUint16(i * 2, true);
      break;
    case 'I8':
      for (let i = 0; i < n; i++) out[i] = v.getInt8(i);
      break;
    case 'U8':
    case 'BOOL':
      for (let i = 0; i < n; i++) out[i] = v.getUint8(i);
      break;
    default:
      throw new SafetensorsError(`tensor ${t.name} has dtype ${t.dtype}, which cannot be read as int32`);
  }
  return out;
}
