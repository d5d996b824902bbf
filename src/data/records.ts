/**
 * One checker per kind of stored record (the dataset manifest here; run records and checkpoints
 * in train/run-records.ts, with the shared Checker). IndexedDB
 * hands back whatever was written, by this version of the lab, an older one, or a damaged disk:
 * every read goes through these so a bad record is named (its key and what is wrong) instead of
 * crashing the list or the page that reads a nested field of it. Hand-written: a few dozen field
 * checks do not need a schema library.
 */
import { preview } from '../util/preview';
import { DataError, type DatasetManifest } from './types';

/** A stored record that failed its check: listed in the UI so it can be deleted. */
export interface DamagedRecord {
  /** The store key, e.g. `run:run-2026…` or `manifest:bundled-…`. */
  key: string;
  /** The id the delete request takes (the key without its prefix). */
  id: string;
  /** What is wrong, e.g. "summary.settings is missing". */
  problem: string;
}

export type Checked<T> = { ok: true; value: T } | { ok: false; problems: string[] };

type Obj = Record<string, unknown>;

export function describe(v: unknown): string {
  if (v === undefined) return 'missing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `a string`;
  return `a ${typeof v}`;
}

/** Collects problems under a path prefix ("summary.settings.model.nLayer is missing"). */
export class Checker {
  readonly problems: string[] = [];
  constructor(private readonly prefix = '') {}

  private at(path: string): string {
    return this.prefix ? (path ? `${this.prefix}.${path}` : this.prefix) : path || 'the record';
  }

  private bad(path: string, v: unknown, expected: string): void {
    this.problems.push(
      v === undefined ? `${this.at(path)} is missing` : `${this.at(path)} is ${describe(v)}, expected ${expected}`,
    );
  }

  object(o: Obj, key: string): Obj | undefined {
    const v = key ? o[key] : o;
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Obj;
    this.bad(key, v, 'an object');
    return undefined;
  }

  string(o: Obj, key: string, optional = false): void {
    const v = o[key];
    if (typeof v === 'string' || (optional && v === undefined)) return;
    this.bad(key, v, 'a string');
  }

  /** A finite number, at least `min`; `integer` for counts. */
  number(o: Obj, key: string, min = -Infinity, integer = false, optional = false): void {
    const v = o[key];
    if (optional && v === undefined) return;
    if (typeof v !== 'number' || !Number.isFinite(v)) return this.bad(key, v, 'a finite number');
    if (v < min || (integer && !Number.isInteger(v)))
      this.problems.push(`${this.at(key)} is ${v}, expected ${integer ? 'an integer' : 'a number'} ≥ ${min}`);
  }

  array(o: Obj, key: string): unknown[] | undefined {
    const v = o[key];
    if (Array.isArray(v)) return v as unknown[];
    this.bad(key, v, 'an array');
    return undefined;
  }

  oneOf(o: Obj, key: string, allowed: readonly string[]): void {
    const v = o[key];
    if (typeof v === 'string' && allowed.includes(v)) return;
    this.bad(key, v, `one of ${allowed.join(', ')}`);
  }

  /** Any number, NaN included (a diverged run's last loss), when present. */
  optionalNumber(o: Obj, key: string): void {
    const v = o[key];
    if (v !== undefined && typeof v !== 'number') this.bad(key, v, 'a number');
  }

  bytes(o: Obj, key: string): void {
    const v = o[key];
    if (!(v instanceof Uint8Array)) this.bad(key, v, 'bytes (Uint8Array)');
  }

  nested(path: string): Checker {
    const child = new Checker(this.at(path) === 'the record' ? '' : this.at(path));
    return child;
  }

  merge(child: Checker): void {
    this.problems.push(...child.problems);
  }
}

export function result<T>(c: Checker, value: unknown): Checked<T> {
  return c.problems.length === 0 ? { ok: true, value: value as T } : { ok: false, problems: c.problems };
}

/** A dataset's source: the fields a resumed ingestion and the source form read for its kind. */
export function checkSource(c: Checker, o: Obj, key: string): void {
  const source = c.object(o, key);
  if (!source) return;
  const n = c.nested(key);
  n.oneOf(source, 'kind', ['bundled', 'hub', 'url', 'files']);
  if (source.kind === 'bundled' || source.kind === 'url') n.string(source, 'url');
  if (source.kind === 'hub') n.string(source, 'dataset');
  if (source.kind === 'files') {
    const files = n.array(source, 'files');
    const bad = files?.findIndex(
      (f) =>
        typeof f !== 'object' ||
        f === null ||
        typeof (f as Obj).name !== 'string' ||
        typeof (f as Obj).size !== 'number',
    );
    if (files && bad !== undefined && bad >= 0)
      n.problems.push(`${key}.files[${bad}] is ${preview(files[bad])}, expected { name, size }`);
  }
  c.merge(n);
}

/** The first entry of a list (steps, evals) missing a number the chart reads: one problem, not thousands. */
export function checkPoints(c: Checker, o: Obj, key: string, fields: readonly string[]): void {
  const list = c.array(o, key);
  if (!list) return;
  for (let i = 0; i < list.length; i++) {
    const p = list[i];
    const field =
      typeof p === 'object' && p !== null ? fields.find((f) => typeof (p as Obj)[f] !== 'number') : fields[0];
    if (field !== undefined) {
      c.problems.push(
        `${key}[${i}]${typeof p === 'object' && p !== null ? `.${field}` : ''} is ${preview(typeof p === 'object' && p !== null ? (p as Obj)[field] : p)}, expected a number`,
      );
      return;
    }
  }
}

export function checkTokenizerInfo(c: Checker, o: Obj, key: string): void {
  const t = c.object(o, key);
  if (!t) return;
  const n = c.nested(key);
  n.number(t, 'vocabSize', 1, true);
  n.string(t, 'fingerprint');
  c.merge(n);
}

/** A `manifest:<id>` record: what the dataset list, the sampler and a resumed ingestion read. */
export function checkManifest(value: unknown): Checked<DatasetManifest> {
  const c = new Checker();
  const root = c.object({ v: value }, 'v');
  if (!root) return { ok: false, problems: [`the record is ${describe(value)}, expected an object`] };
  if (root.format !== 'gpt-garden-tokens')
    c.problems.push(
      `format is ${root.format === undefined ? 'missing' : preview(root.format)}, expected "gpt-garden-tokens"`,
    );
  c.number(root, 'version', 1, true);
  for (const k of ['id', 'name', 'createdAt', 'updatedAt']) c.string(root, k);
  c.oneOf(root, 'dtype', ['uint16', 'uint32']);
  for (const k of ['tokens', 'rows', 'textBytes']) c.number(root, k, 0, true);
  c.number(root, 'valFraction', 0);
  c.number(root, 'maxTokens', 1, false, true);
  if (typeof root.complete !== 'boolean')
    c.problems.push(`complete is ${describe(root.complete)}, expected true or false`);
  checkSource(c, root, 'source');
  checkTokenizerInfo(c, root, 'tokenizer');
  const cursor = c.object(root, 'cursor');
  if (cursor) {
    const n = c.nested('cursor');
    n.number(cursor, 'file', 0, true);
    n.number(cursor, 'row', 0, true);
    c.merge(n);
  }
  const shards = c.array(root, 'shards');
  shards?.forEach((shard, i) => {
    const n = c.nested(`shards[${i}]`);
    const o = n.object({ v: shard }, 'v');
    if (!o) return c.problems.push(`shards[${i}] is ${describe(shard)}, expected an object`);
    n.string(o, 'key');
    n.number(o, 'tokens', 0, true);
    n.number(o, 'rows', 0, true);
    c.merge(n);
  });
  // The total sizes the arrays that read every token at once: it must be what the shards hold.
  if (c.problems.length === 0 && shards) {
    const sum = (shards as { tokens: number }[]).reduce((total, shard) => total + shard.tokens, 0);
    if (sum !== root.tokens) c.problems.push(`tokens is ${String(root.tokens)} but the shards hold ${sum}`);
  }
  return result(c, value);
}

/** What is wrong, in one line: the first three problems (a record can have dozens). */
export function problemText(problems: string[]): string {
  const shown = problems.slice(0, 3).join('; ');
  return `${shown}${problems.length > 3 ? ` (and ${problems.length - 3} more)` : ''}`;
}

/** The entry a list shows for a record that failed its check. */
export function damagedRecord(key: string, prefix: string, problems: string[]): DamagedRecord {
  return { key, id: key.slice(prefix.length), problem: problemText(problems) };
}

/** The line the lists show: "damaged: run:<id> — summary.settings is missing". */
export function damagedLine(record: DamagedRecord): string {
  return `damaged: ${record.key} — ${record.problem}`;
}

/** The error a read of a damaged record throws: names the record and says how to get out. */
export function damagedError(what: string, key: string, problems: string[]): DataError {
  return new DataError('format', `${what} is damaged (${key}: ${problemText(problems)}): delete it and start again`);
}
