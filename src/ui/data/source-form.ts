/**
 * The Data panel's form, turned into an ingestion request, and the numbers it shows. Pure
 * functions: the store and the tests use them without a DOM.
 */
import type { IngestResponse } from '../../data/ingest-worker';
import { datasetBase, datasetIdFor } from '../../data/fingerprint';
import type { DatasetManifest, SourceSpec } from '../../data/types';
import { formatBytes } from '../../data/storage';
import type { FlaggedFile, PickCheck } from './upload-check';

export type IngestProgress = Extract<IngestResponse, { type: 'progress' }>['progress'];

/** A file the user picked or dropped (a File is a Blob with a name). */
export interface PickedFile {
  name: string;
  blob: Blob;
}

/** What the store needs to start (or resume) an ingestion. */
export interface IngestInput {
  id: string;
  name?: string;
  spec: SourceSpec;
  maxTokens?: number;
  files?: PickedFile[];
}

export type SourceChoice = 'bundled' | 'remote' | 'files';

export interface SourceForm {
  choice: SourceChoice;
  /** A Hugging Face dataset id or an http(s) URL. */
  remote: string;
  files: PickedFile[];
  /** Text column; empty lets the source guess. */
  column: string;
  /** Token limit as typed; empty means all. */
  tokenLimit: string;
  /** Picked files that do not look like text, until the user keeps ("Use anyway") or removes each. */
  flagged?: FlaggedFile[];
  /** Why files of the last pick were left out (empty ones), one sentence each. */
  refused?: string[];
}

/** The form after a pick: the files checked by checkPickedFiles replace the old ones. */
export function withPickedFiles(form: SourceForm, check: PickCheck): SourceForm {
  return { ...form, files: check.files, flagged: check.flagged, refused: check.refused };
}

/** "Use anyway": the flagged file stays and no longer blocks Start. */
export function keepFlaggedFile(form: SourceForm, name: string): SourceForm {
  return { ...form, flagged: (form.flagged ?? []).filter((f) => f.name !== name) };
}

/** "Remove": the file leaves the form (and its flag with it). */
export function removePickedFile(form: SourceForm, name: string): SourceForm {
  return {
    ...form,
    files: form.files.filter((f) => f.name !== name),
    flagged: (form.flagged ?? []).filter((f) => f.name !== name),
  };
}

/** The bundled corpus's dataset id before the tokenizer part (see datasetIdFor): one copy per tokenizer. */
export const BUNDLED_ID = 'bundled-brown-fiction';

/** A copy of the bundled corpus, under any tokenizer (ids from before they named one included). */
export function isBundledDataset(id: string): boolean {
  return datasetBase(id) === BUNDLED_ID;
}
export const DEFAULT_REMOTE = 'bookcorpus/bookcorpus';

export const initialForm: SourceForm = {
  choice: 'bundled',
  remote: DEFAULT_REMOTE,
  files: [],
  column: '',
  tokenLimit: '',
};

// owner/name, or a bare name (the Hub's canonical datasets).
const HUB_ID = /^[A-Za-z0-9][\w.-]*(\/[A-Za-z0-9][\w.-]*)?$/;

/** The source a form names, with the id and name a dataset of it gets, or what to fix. */
export type BuiltSource = { id: string; name: string; spec: SourceSpec; files?: PickedFile[] };

/** The source `form` names (no token limit involved: the tokenizer card trains on it too). */
export function buildSource(form: SourceForm, bundledUrl: string): BuiltSource | { error: string } {
  const column = form.column.trim() || undefined;
  switch (form.choice) {
    case 'bundled':
      return { id: BUNDLED_ID, name: 'Brown corpus, fiction (bundled)', spec: { kind: 'bundled', url: bundledUrl } };
    case 'remote': {
      const value = form.remote.trim();
      if (!value) return { error: 'Enter a Hugging Face dataset id (like bookcorpus/bookcorpus) or a URL.' };
      if (/^https?:\/\//i.test(value)) {
        let url: URL;
        try {
          url = new URL(value);
        } catch {
          return { error: `"${value}" is not a valid URL: check it for typos.` };
        }
        const id = lastPathSegment(url);
        return { id, name: id, spec: { kind: 'url', url: url.href, column } };
      }
      if (!HUB_ID.test(value)) {
        return { error: `"${value}" is neither a Hugging Face dataset id (owner/name) nor an http(s) URL.` };
      }
      return { id: value, name: value, spec: { kind: 'hub', dataset: value, column } };
    }
    case 'files': {
      const [first] = form.files;
      if (!first) return { error: 'Pick or drop at least one .txt, .jsonl or .parquet file.' };
      const undecided = form.flagged ?? [];
      if (undecided.length > 0) {
        const names = undecided.map((f) => `"${f.name}"`).join(', ');
        return {
          error: `${names} ${undecided.length > 1 ? 'do' : 'does'} not look like text: press Use anyway to keep ${undecided.length > 1 ? 'them' : 'it'}, or Remove.`,
        };
      }
      const more = form.files.length - 1;
      return {
        id: first.name,
        name: more ? `${first.name} and ${more} more` : first.name,
        spec: { kind: 'files', files: form.files.map((f) => ({ name: f.name, size: f.blob.size })), column },
        files: form.files,
      };
    }
  }
}

/**
 * The id an ingestion of `id` stores under with this tokenizer: a dataset already made with it keeps
 * its id (resuming one, even from before ids named their tokenizer); otherwise "<base>@<fingerprint>",
 * so tokens of another tokenizer are never replaced.
 */
export function ingestId(id: string, tokenizerFingerprint: string, datasets: DatasetManifest[]): string {
  if (datasets.some((d) => d.id === id && d.tokenizer.fingerprint === tokenizerFingerprint)) return id;
  return datasetIdFor(datasetBase(id), tokenizerFingerprint);
}

/** Builds the request for `form`, or says what to fix. `bundledUrl` is the corpus URL on this site. */
export function buildIngestInput(form: SourceForm, bundledUrl: string): { input: IngestInput } | { error: string } {
  const limit = parseTokenLimit(form.tokenLimit);
  if ('error' in limit) return limit;
  const built = buildSource(form, bundledUrl);
  if ('error' in built) return built;
  const { files, ...rest } = built;
  return { input: { ...rest, maxTokens: limit.value, ...(files ? { files } : {}) } };
}

/** The form values for a Hugging Face dataset id (what the Plan tab's recipe puts in the picker). */
export function hubSourceForm(dataset: string): Partial<SourceForm> {
  return { choice: 'remote', remote: dataset };
}

/** The tokenizer card's fields as typed: train on the first `sampleMb` MB of the source at `vocab` tokens. */
export interface TokenizerForm {
  sampleMb: string;
  vocab: string;
}

/** What the tokenizer card trains on by default: the first 100 MB of the chosen source. */
export const DEFAULT_SAMPLE_MB = 100;

/** Checks the tokenizer card's fields; the numbers, or what to fix. */
export function parseTokenizerForm(form: TokenizerForm): { sampleMb: number; vocabSize: number } | { error: string } {
  const vocabSize = Number(form.vocab.trim());
  if (!Number.isInteger(vocabSize) || vocabSize < 260 || vocabSize > 200_000)
    return { error: 'A vocabulary of 260 to 200,000 tokens.' };
  const sampleMb = Number(form.sampleMb.trim());
  if (!form.sampleMb.trim() || !Number.isFinite(sampleMb) || sampleMb <= 0 || sampleMb > 100_000) {
    return { error: 'A sample of more than 0 and at most 100,000 MB.' };
  }
  return { sampleMb, vocabSize };
}

function parseTokenLimit(text: string): { value: number | undefined } | { error: string } {
  const trimmed = text.trim();
  if (!trimmed) return { value: undefined };
  const value = Number(trimmed);
  if (!Number.isSafeInteger(value) || value <= 0) {
    return { error: `The token limit must be a whole number above 0, or empty for all tokens (got "${trimmed}").` };
  }
  return { value };
}

function lastPathSegment(url: URL): string {
  const segment = url.pathname.split('/').filter(Boolean).pop();
  if (!segment) return url.hostname;
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment; // a stray % is still a usable id
  }
}

/** 950, 12.3K, 4.5M, 1.2B. */
export function formatCount(n: number): string {
  if (n < 10_000) return String(Math.round(n));
  const units: [number, string][] = [
    [1e9, 'B'],
    [1e6, 'M'],
    [1e3, 'K'],
  ];
  for (const [size, suffix] of units) {
    if (n >= size) return `${(n / size).toFixed(n / size >= 100 ? 0 : 1)}${suffix}`;
  }
  return String(n);
}

/** 45 s, 3 min 05 s, 2 h 07 min. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

/** "12.3K rows · 4.1 MB of text · 1.0M tokens · 2.5 MB/s · about 1 min 10 s left" (no ETA once finished). */
export function progressSummary(p: IngestProgress, finished = false): string {
  const parts = [
    `${formatCount(p.rows)} rows`,
    `${formatBytes(p.textBytes)} of text`,
    `${formatCount(p.tokens)} tokens`,
    `${formatBytes(p.textBytesPerSecond)}/s`,
  ];
  if (!finished && p.etaSeconds !== undefined && Number.isFinite(p.etaSeconds))
    parts.push(`about ${formatDuration(p.etaSeconds)} left`);
  return parts.join(' · ');
}

/** "Using 1.2 GB of 60 GB (2.0%)". */
export function storageSummary(usage: number, quota: number): string {
  const percent = quota > 0 ? (100 * usage) / quota : 0;
  return `Using ${formatBytes(usage)} of ${formatBytes(quota)} (${percent < 10 ? percent.toFixed(1) : Math.round(percent)}%)`;
}

/**
 * The form that names `spec` again, with `maxTokens` as the limit: what a run imported from
 * elsewhere was trained on. Picked files cannot be named back: the user picks them again.
 */
export function sourceFormFor(spec: SourceSpec, maxTokens?: number): SourceForm {
  const base: SourceForm = {
    ...initialForm,
    column: (spec.kind !== 'bundled' && spec.column) || '',
    tokenLimit: maxTokens ? String(maxTokens) : '',
  };
  switch (spec.kind) {
    case 'bundled':
      return { ...base, choice: 'bundled' };
    case 'hub':
      return { ...base, choice: 'remote', remote: spec.dataset };
    case 'url':
      return { ...base, choice: 'remote', remote: spec.url };
    case 'files':
      return { ...base, choice: 'files' };
  }
}
