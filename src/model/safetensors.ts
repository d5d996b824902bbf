/**
 * safetensors reader and writer (https://github.com/huggingface/safetensors, format described there).
 * The format's types live in safetensors-format.ts, element conversion in safetensors-values.ts;
 * both are exported from here too.
 *
 * Layout: u64 little-endian header length N, then N bytes of UTF-8 JSON
 *   { name: { dtype, shape, data_offsets: [begin, end] }, "__metadata__"?: { string: string } }
 * (offsets relative to the start of the data section), then the data section.
 * Reading validates everything the way the reference implementation does (tensors must tile the data
 * section exactly), so a corrupt or truncated checkpoint fails with a message naming the problem
 * instead of loading garbage weights.
 */

import { preview } from '../util/preview';
import {
  DTYPE_BYTES,
  fmtShape,
  isDtype,
  LITTLE_ENDIAN,
  MAX_HEADER_BYTES,
  METADATA_KEY,
  SafetensorsError,
  shapeSize,
  type SafeTensor,
  type SafetensorsDtype,
  type SafetensorsFile,
} from './safetensors-format';

export {
  DTYPE_BYTES,
  MAX_HEADER_BYTES,
  SafetensorsError,
  shapeSize,
  type SafeTensor,
  type SafetensorsDtype,
  type SafetensorsFile,
} from './safetensors-format';
export { f16ToNumber, tensorAsFloat32, tensorAsFloat64, tensorAsInt32 } from './safetensors-values';

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function parseSafetensors(input: Uint8Array | ArrayBuffer): SafetensorsFile {
  // A plain Uint8Array view even for a Node Buffer, whose slice() would not copy.
  const bytes =
    input instanceof Uint8Array
      ? new Uint8Array(input.buffer, input.byteOffset, input.byteLength)
      : new Uint8Array(input);
  if (bytes.length < 8) {
    throw new SafetensorsError(
      `file is ${bytes.length} bytes, shorter than the 8-byte header length prefix (not a safetensors file?)`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLenBig = view.getBigUint64(0, true);
  if (headerLenBig > BigInt(MAX_HEADER_BYTES)) {
    throw new SafetensorsError(
      `header length ${headerLenBig} is absurdly large (limit ${MAX_HEADER_BYTES} bytes; not a safetensors file?)`,
    );
  }
  const headerLen = Number(headerLenBig);
  if (8 + headerLen > bytes.length) {
    throw new SafetensorsError(
      `header length ${headerLen} is beyond the file size (${bytes.length} bytes; file truncated or not safetensors)`,
    );
  }

  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLen));
  } catch {
    throw new SafetensorsError('header is not valid UTF-8');
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    throw new SafetensorsError(`header is not valid JSON: ${(e as Error).message}`);
  }
  if (!isPlainObject(header)) {
    throw new SafetensorsError(
      `header is not a JSON object (got ${header === null ? 'null' : Array.isArray(header) ? 'an array' : typeof header})`,
    );
  }

  const metadata: Record<string, string> = {};
  const rawMeta = header[METADATA_KEY];
  if (rawMeta !== undefined) {
    if (!isPlainObject(rawMeta)) throw new SafetensorsError('__metadata__ is not an object of strings');
    for (const [k, v] of Object.entries(rawMeta)) {
      if (typeof v !== 'string') throw new SafetensorsError(`__metadata__ value for ${preview(k)} is not a string`);
      metadata[k] = v;
    }
  }

  const dataStart = 8 + headerLen;
  const dataLen = bytes.length - dataStart;
  const entries: { name: string; dtype: SafetensorsDtype; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, raw] of Object.entries(header)) {
    if (name === METADATA_KEY) continue;
    const where = `tensor ${preview(name)}`;
    if (!isPlainObject(raw)) throw new SafetensorsError(`${where}: entry is not an object`);
    for (const key of ['dtype', 'shape', 'data_offsets']) {
      if (!(key in raw)) throw new SafetensorsError(`${where}: missing ${key}`);
    }
    const { dtype, shape, data_offsets: offsets } = raw;
    if (!isDtype(dtype)) throw new SafetensorsError(`${where}: unknown dtype ${preview(dtype)}`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new SafetensorsError(`${where}: shape ${preview(shape)} is not a list of non-negative integers`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      throw new SafetensorsError(`${where}: data_offsets ${preview(offsets)} is not a pair of non-negative integers`);
    }
    const [begin, end] = offsets as [number, number];
    if (begin > end) throw new SafetensorsError(`${where}: data_offsets [${begin},${end}] out of range (begin > end)`);
    const expected = shapeSize(shape as number[]) * DTYPE_BYTES[dtype];
    if (end - begin !== expected) {
      throw new SafetensorsError(
        `${where}: data_offsets [${begin},${end}] span ${end - begin} bytes but shape ${fmtShape(shape as number[])} of ${dtype} needs ${expected}`,
      );
    }
    if (end > dataLen) {
      throw new SafetensorsError(
        `file truncated: ${where} data_offsets [${begin},${end}] run past the data section (${dataLen} bytes)`,
      );
    }
    entries.push({ name, dtype, shape: shape as number[], begin, end });
  }

  // Tensors must tile the data section: no overlaps, no gaps, nothing left over.
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  let prev = '';
  for (const e of sorted) {
    if (e.begin < cursor) {
      throw new SafetensorsError(
        `tensor ${preview(e.name)} data_offsets [${e.begin},${e.end}] overlap tensor ${preview(prev)} (which ends at ${cursor})`,
      );
    }
    if (e.begin > cursor) {
      throw new SafetensorsError(
        `data_offsets do not cover the data section: bytes [${cursor},${e.begin}) before tensor ${preview(e.name)} belong to no tensor`,
      );
    }
    cursor = e.end;
    prev = e.name;
  }
  if (cursor !== dataLen) {
    throw new SafetensorsError(
      `data_offsets do not cover the data section: ${dataLen - cursor} trailing bytes after offset ${cursor} belong to no tensor`,
    );
  }

  const tensors = new Map<string, SafeTensor>();
  for (const e of entries) {
    tensors.set(e.name, {
      name: e.name,
      dtype: e.dtype,
      shape: e.shape,
      data: bytes.subarray(dataStart + e.begin, dataStart + e.end),
    });
  }
  return { tensors, metadata };
}

/** Returns the tensor, or throws naming it when it is missing or (if `shape` is given) shaped differently. */
export function expectTensor(file: SafetensorsFile, name: string, shape?: readonly number[]): SafeTensor {
  const t = file.tensors.get(name);
  if (!t) throw new SafetensorsError(`missing tensor ${name}`);
  if (shape && (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i]))) {
    throw new SafetensorsError(`tensor ${name} has shape ${fmtShape(t.shape)}, expected ${fmtShape(shape)}`);
  }
  return t;
}

// ---------------------------------------------------------------------------------------------
// Writing.

export type WritableDtype = 'F32' | 'I32' | 'F64';

export interface TensorToWrite {
  name: string;
  dtype: WritableDtype;
  shape: readonly number[];
  /** Row-major values; converted to `dtype` when the array is of another type. */
  data: ArrayLike<number>;
}

/** Serialises tensors in the given order, with metadata {"format":"pt", ...metadata}. */
export function writeSafetensors(
  tensors: readonly TensorToWrite[],
  metadata: Record<string, string> = {},
): Uint8Array<ArrayBuffer> {
  const meta: Record<string, string> = { format: 'pt', ...metadata };
  for (const [k, v] of Object.entries(meta)) {
    if (typeof v !== 'string') throw new SafetensorsError(`metadata value for "${k}" is not a string`);
  }
  const seen = new Set<string>();
  const headerEntries: [string, unknown][] = [[METADATA_KEY, meta]];
  let offset = 0;
  for (const t of tensors) {
    if (t.name === METADATA_KEY) throw new SafetensorsError(`tensor name ${METADATA_KEY} is reserved`);
    if (seen.has(t.name)) throw new SafetensorsError(`duplicate tensor name ${t.name}`);
    seen.add(t.name);
    if (!isDtype(t.dtype) || !['F32', 'I32', 'F64'].includes(t.dtype)) {
      throw new SafetensorsError(
        `tensor ${t.name}: cannot write dtype ${JSON.stringify(t.dtype)} (F32, I32, F64 only)`,
      );
    }
    if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new SafetensorsError(
        `tensor ${t.name}: shape ${JSON.stringify(t.shape)} is not a list of non-negative integers`,
      );
    }
    const n = shapeSize(t.shape);
    if (t.data.length !== n) {
      throw new SafetensorsError(
        `tensor ${t.name}: ${t.data.length} values given for shape ${fmtShape(t.shape)} (${n} elements)`,
      );
    }
    const size = n * DTYPE_BYTES[t.dtype];
    headerEntries.push([t.name, { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + size] }]);
    offset += size;
  }
  // fromEntries defines own properties, so even a tensor named "__proto__" survives stringify.
  const json = new TextEncoder().encode(JSON.stringify(Object.fromEntries(headerEntries)));
  const headerLen = Math.ceil(json.length / 8) * 8; // pad with spaces so the data starts 8-aligned
  const out = new Uint8Array(8 + headerLen + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerLen), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLen);

  let pos = 8 + headerLen;
  for (const t of tensors) {
    const n = t.data.length;
    const d = t.data;
    // Fast path: a typed array of the matching type is copied as bytes.
    const same =
      (t.dtype === 'F32' && d instanceof Float32Array) ||
      (t.dtype === 'F64' && d instanceof Float64Array) ||
      (t.dtype === 'I32' && d instanceof Int32Array);
    if (same && LITTLE_ENDIAN) {
      out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), pos);
      pos += d.byteLength;
    } else if (t.dtype === 'F32') for (let i = 0; i < n; i++, pos += 4) view.setFloat32(pos, t.data[i]!, true);
    else if (t.dtype === 'F64') for (let i = 0; i < n; i++, pos += 8) view.setFloat64(pos, t.data[i]!, true);
    else {
      for (let i = 0; i < n; i++, pos += 4) {
        const x = t.data[i]!;
        if (!Number.isInteger(x) || x < -0x80000000 || x > 0x7fffffff) {
          throw new SafetensorsError(`tensor ${t.name}: element ${i} = ${x} is not an int32`);
        }
        view.setInt32(pos, x, true);
      }
    }
  }
  return out;
}
