/**
 * The data pipeline's shared vocabulary: where text comes from (sources), where its tokens go
 * (shards + a manifest in a ShardStore) and the errors a user sees. Runs in a Web Worker, on a
 * page, or in Node alike: nothing here touches the DOM.
 *
 *   source rows -> tokenize -> token shards (Uint16 or Uint32) -> BatchSampler windows of T+1
 */

/** Position in a source: the next row to read is row `row` of file `file`. */
export interface SourceCursor {
  file: number;
  row: number;
}

/** A batch of text rows read from a source, with the cursor just past them. */
export interface TextRows {
  rows: string[];
  /** Cursor after the last of these rows. */
  cursor: SourceCursor;
  /** Bytes fetched or read from disk for these rows (compressed, as transferred). */
  bytesRead: number;
  /** The row after which the source moves to another file (a document boundary). */
  endOfFile: boolean;
}

/** Where rows come from; `read` starts at `from` and yields until the source is exhausted. */
export interface TextSource {
  /** Human-readable: "bookcorpus/bookcorpus (3 parquet files, 1.2 GB)". */
  readonly description: string;
  /** Total bytes the source will transfer, when known (for progress and ETA). */
  readonly totalBytes?: number;
  /** Total rows when known. */
  readonly totalRows?: number;
  /**
   * How rows join: 'newline' when rows are lines of running text (sentences of a book),
   * 'eot' when each row is a whole document (an <|endoftext|> token goes after it).
   */
  readonly rowKind: RowKind;
  read(from: SourceCursor, signal?: AbortSignal): AsyncIterable<TextRows>;
}

/** What was ingested, in a form that survives JSON (a manifest records it, resume rebuilds it). */
export type SourceSpec =
  /** The Brown-corpus fiction text shipped in public/ (works offline). */
  | { kind: 'bundled'; url: string }
  /** A dataset on the Hugging Face Hub, resolved to its parquet files. */
  | { kind: 'hub'; dataset: string; config?: string; split?: string; column?: string; rowKind?: RowKind }
  /** A parquet file, or plain text / JSON lines, at a URL. */
  | { kind: 'url'; url: string; column?: string; rowKind?: RowKind }
  /** Files the user dropped or picked (`.txt`, `.jsonl`, `.parquet`), or paths in Node. */
  | { kind: 'files'; files: { name: string; size: number }[]; column?: string; rowKind?: RowKind };

/**
 * Whether a parquet row is a line of running text (a sentence of a book: rows join with a newline)
 * or a whole document (an <|endoftext|> token follows it). Unset: guessed from the dataset.
 */
export type RowKind = 'line' | 'document';

export type TokenDtype = 'uint16' | 'uint32';
export type TokenArray = Uint16Array | Uint32Array;

/** One completely written shard. */
export interface ShardInfo {
  key: string;
  tokens: number;
  rows: number;
}

/**
 * The record of a tokenized dataset. It lists only shards that were written completely: a shard is
 * written first, then the manifest that names it, so a crash or a full disk in between leaves the
 * previous manifest (and every shard it names) valid.
 */
export interface DatasetManifest {
  format: 'gpt-garden-tokens';
  version: 1;
  /** Store key prefix of this dataset's shards. */
  id: string;
  name: string;
  source: SourceSpec;
  tokenizer: { vocabSize: number; fingerprint: string };
  dtype: TokenDtype;
  shards: ShardInfo[];
  /** Sum over shards. */
  tokens: number;
  rows: number;
  /** UTF-8 bytes of text tokenized into the listed shards. */
  textBytes: number;
  /** First row not in any listed shard: where a resumed ingestion starts reading. */
  cursor: SourceCursor;
  /** True once the source is exhausted or `maxTokens` is reached. */
  complete: boolean;
  /** The source has no rows left (a higher `maxTokens` cannot add more). */
  sourceExhausted?: boolean;
  maxTokens?: number;
  /** Fraction of each shard (its tail) held out for validation. */
  valFraction: number;
  createdAt: string;
  updatedAt: string;
}

/** Key/value storage for manifests and shards: IndexedDB in the browser, a folder in Node. */
export interface ShardStore {
  getManifest(id: string): Promise<DatasetManifest | undefined>;
  putManifest(manifest: DatasetManifest): Promise<void>;
  listManifests(): Promise<DatasetManifest[]>;
  putShard(key: string, tokens: TokenArray): Promise<void>;
  getShard(key: string, dtype: TokenDtype): Promise<TokenArray>;
  deleteShard(key: string): Promise<void>;
  /** Removes the manifest and every shard whose key starts with `${id}/`. */
  deleteDataset(id: string): Promise<void>;
}

export type DataErrorKind =
  | 'http' // 404, 500, ...
  | 'range' // the server ignored or mangled an HTTP Range request
  | 'network' // the connection failed or dropped mid-stream
  | 'format' // a truncated or corrupt parquet file, a JSON line that is not JSON, no text column
  | 'quota' // the browser's storage quota or the disk is full
  | 'config' // bad options: nothing to read, a block size longer than the data
  | 'cancelled';

/** An error meant for the user: `message` says what happened and what to do. */
export class DataError extends Error {
  constructor(
    readonly kind: DataErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'DataError';
  }
}

export function isQuotaError(error: unknown): boolean {
  if (error instanceof DataError) return error.kind === 'quota';
  const e = error as { name?: string; code?: string | number } | null;
  return e?.name === 'QuotaExceededError' || e?.code === 'ENOSPC' || e?.code === 22;
}

export function tokenDtype(vocabSize: number): TokenDtype {
  return vocabSize <= 65536 ? 'uint16' : 'uint32';
}

export function emptyTokens(dtype: TokenDtype, length: number): TokenArray {
  return dtype === 'uint16' ? new Uint16Array(length) : new Uint32Array(length);
}

/** Runs a write, turning a full quota into a DataError the user can act on. */
export async function writing<T>(what: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (isQuotaError(error)) {
      // A run's state cannot be made smaller: only a dataset has a token limit to lower.
      const advice = /^(the checkpoint of )?run /.test(what)
        ? 'free some space (delete an old run or dataset)'
        : 'free some space (delete a dataset or checkpoint) or lower the token limit';
      throw new DataError('quota', `storage is full while saving ${what}: ${advice}; everything saved before is kept`, {
        cause: error,
      });
    }
    throw error;
  }
}

/** One micro-batch of training windows: the tokens and the next token of each. */
export interface MicroBatch {
  idx: Int32Array; // [B, T]
  targets: Int32Array; // [B, T]
}
