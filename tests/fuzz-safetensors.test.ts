/**
 * Seeded fuzz of the safetensors reader: a small valid file whose header JSON (dtype, shape,
 * data_offsets, __metadata__), header length and bytes are mutated. Each case must give either a
 * SafetensorsError with a short one-line message, or a file whose tensors all lie inside the bytes
 * given and convert without error: never a TypeError/RangeError, never a tensor sized past the file.
 */
import { describe, expect, it } from 'vitest';
import {
  DTYPE_BYTES,
  parseSafetensors,
  SafetensorsError,
  shapeSize,
  tensorAsFloat32,
  tensorAsInt32,
  writeSafetensors,
  type SafetensorsFile,
} from '../src/model/safetensors';
import { rng, type Random } from '../src/util/random';

const base = writeSafetensors(
  [
    { name: 'wte.weight', dtype: 'F32', shape: [4, 3], data: Float32Array.from({ length: 12 }, (_, i) => i / 7) },
    { name: 'ids', dtype: 'I32', shape: [2], data: [5, -6] },
    { name: 'scale', dtype: 'F64', shape: [], data: [0.5] },
  ],
  { config: '{"n_layer":1}' },
);
const baseHeaderLength = Number(new DataView(base.buffer).getBigUint64(0, true));
const baseHeader = JSON.parse(new TextDecoder().decode(base.subarray(8, 8 + baseHeaderLength))) as Record<
  string,
  unknown
>;
const baseData = base.subarray(8 + baseHeaderLength);

const pick = <T>(r: Random, items: readonly T[]): T => items[Math.floor(r() * items.length)]!;

/** Numbers JSON can spell that break naive code: huge, unsafe, negative, fractional, Infinity (1e400). */
const NASTY_NUMBERS = [
  '0',
  '-1',
  '1.5',
  '1e400',
  '-1e400',
  '9007199254740993',
  '4294967296',
  '1e15',
  '-0',
  '2',
  '12',
  '48',
  '100000000000',
];
const nestedDeep = `${'['.repeat(20000)}${']'.repeat(20000)}`;
/** Raw JSON values (text, so 1e400 and deep nesting survive to the parser). */
function nastyValue(r: Random): string {
  return pick(r, [
    () => pick(r, NASTY_NUMBERS),
    () => JSON.stringify(pick(r, ['F32', 'f32', 'F128', '', 'I64', 'BOOL', 'F16', 'BF16', 'U64'])),
    () => `[${Array.from({ length: Math.floor(r() * 4) }, () => pick(r, NASTY_NUMBERS)).join(',')}]`,
    () => pick(r, ['null', 'true', '{}', '[]', '"3"', '["1","2"]', '[[1,2]]', '{"a":1}']),
    () => nestedDeep,
    () => JSON.stringify('x'.repeat(100_000)),
  ])();
}

/** The header text with one or more fields replaced by raw JSON values. */
function mutateHeader(r: Random): string {
  const header = structuredClone(baseHeader);
  const raws = new Map<string, string>();
  const mutations = 1 + Math.floor(r() * 3);
  for (let m = 0; m < mutations; m++) {
    const names = Object.keys(header);
    const name = pick(r, names);
    const marker = `@@${m}@@`;
    raws.set(marker, nastyValue(r));
    const entry = header[name];
    const choice = r();
    if (choice < 0.1) delete header[name];
    else if (choice < 0.2)
      header[name] = marker; // the whole entry
    else if (choice < 0.3)
      header[pick(r, ['__proto__', 'constructor', 'x'.repeat(5000), 'extra'])] = structuredClone(header['ids']);
    else if (typeof entry === 'object' && entry !== null && !Array.isArray(entry)) {
      const fields = Object.keys(entry);
      const field = r() < 0.15 ? pick(r, ['data_offsets', 'shape', 'dtype', 'other']) : pick(r, fields);
      const target = entry as Record<string, unknown>;
      if (r() < 0.15) delete target[field];
      else if (Array.isArray(target[field]) && r() < 0.5) {
        const list = target[field] as unknown[];
        list[Math.floor(r() * (list.length + 1))] = marker; // one element (or one more)
      } else target[field] = marker;
    }
  }
  let text = JSON.stringify(header);
  for (const [marker, raw] of raws) text = text.replace(`"${marker}"`, () => raw);
  if (r() < 0.1) text = text.replace('{', `{"scale":{"dtype":"F64","shape":[],"data_offsets":[0,8]},`); // a duplicate key
  return text;
}

function file(headerText: string, data: Uint8Array, lengthOverride?: bigint): Uint8Array {
  const json = new TextEncoder().encode(headerText);
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, lengthOverride ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

/** One crafted file: header mutations, byte damage, lengths and truncation, in proportions. */
function craft(r: Random): Uint8Array {
  const kind = r();
  if (kind < 0.55) return file(mutateHeader(r), baseData);
  if (kind < 0.7) {
    // A wrong header length: off by a little, zero, or past any file.
    const delta = pick(r, [
      -9n,
      -1n,
      1n,
      7n,
      BigInt(-baseHeaderLength),
      2n ** 63n,
      2n ** 64n - 1n - BigInt(baseHeaderLength),
      100_000_001n,
    ]);
    const length = BigInt(baseHeaderLength) + delta;
    return file(JSON.stringify(baseHeader), baseData, length < 0n ? 0n : length);
  }
  if (kind < 0.85) return base.slice(0, Math.floor(r() * base.length)); // truncated anywhere
  const out = base.slice();
  const flips = 1 + Math.floor(r() * 4);
  for (let i = 0; i < flips; i++) out[Math.floor(r() * out.length)] = Math.floor(r() * 256);
  return out;
}

function checkValid(parsed: SafetensorsFile, bytes: Uint8Array): void {
  for (const t of parsed.tensors.values()) {
    const size = shapeSize(t.shape) * DTYPE_BYTES[t.dtype];
    expect(t.data.byteLength).toBe(size);
    expect(size).toBeLessThanOrEqual(bytes.byteLength);
    expect(t.data.buffer).toBe(bytes.buffer); // a view, never a copy the size of a claim
    try {
      const values = ['F32', 'F64', 'F16', 'BF16'].includes(t.dtype) ? tensorAsFloat32(t) : tensorAsInt32(t);
      expect(values.length).toBe(shapeSize(t.shape));
    } catch (error) {
      expect(error).toBeInstanceOf(SafetensorsError); // an int64 past int32, say
    }
  }
}

describe('safetensors fuzz', () => {
  it('500 crafted files: a SafetensorsError in one short line, or tensors inside the file', () => {
    const r = rng(20261202);
    const outcomes = { valid: 0, refused: 0 };
    const messages = new Set<string>();
    for (let i = 0; i < 500; i++) {
      const bytes = craft(r);
      let parsed: SafetensorsFile | undefined;
      try {
        parsed = parseSafetensors(bytes);
      } catch (error) {
        if (!(error instanceof SafetensorsError)) throw new Error(`case ${i}: ${String(error)}`, { cause: error });
        expect(error.message).not.toMatch(/\n/);
        expect(error.message.length).toBeLessThan(400);
        messages.add(error.message.replace(/\d+/g, 'N').slice(0, 40));
        outcomes.refused++;
        continue;
      }
      checkValid(parsed, bytes);
      outcomes.valid++;
    }
    // Both sides were exercised, and the refusals are of many kinds, not one early check.
    expect(outcomes.valid).toBeGreaterThan(10);
    expect(outcomes.refused).toBeGreaterThan(300);
    expect(messages.size).toBeGreaterThan(10);
  });

  it('names the field of a deeply nested or huge value without overflowing the stack', () => {
    const deep = file(
      JSON.stringify(baseHeader).replace('"F32"', () => nestedDeep),
      baseData,
    );
    expect(() => parseSafetensors(deep)).toThrow(/tensor "wte.weight": unknown dtype \[\[\[/);
    const huge = file(
      JSON.stringify(baseHeader).replace('[4,3]', () => `[${'1,'.repeat(50_000)}"x"]`),
      baseData,
    );
    const error = (() => {
      try {
        parseSafetensors(huge);
      } catch (e) {
        return e as Error;
      }
    })();
    expect(error).toBeInstanceOf(SafetensorsError);
    expect(error!.message).toMatch(/^tensor "wte.weight": shape \[1,1,1,1,1,1,…/);
    expect(error!.message.length).toBeLessThan(200);
  });
});
