/**
 * Checks on the files a person picks, made at once rather than at Train: an empty file is refused
 * (it holds no text), and a text file whose first 64 KB read as something else (bytes that are not
 * UTF-8, NUL bytes, control characters: a binary renamed .txt, or UTF-16) is flagged, with the
 * choice to keep it. Pure apart from reading the sample; the tests call it directly.
 */
import type { PickedFile } from './source-form';

/** How much of a file is read to judge it: enough for a fair share of any text, cheap for any size. */
export const SAMPLE_BYTES = 64 * 1024;

/**
 * Thresholds, from samples: UTF-8 prose and code have none of these; Windows-1252 text with accents
 * decodes with ~0.5-2% replacement characters (flagged: it is not UTF-8, and the tokens would be
 * wrong); random bytes give ~40% replacements, UTF-16 text ~50% NULs. Form feeds, tabs and line
 * ends are text.
 */
const MAX_REPLACEMENT_SHARE = 0.005;
const MAX_NUL_SHARE = 0.001;
const MAX_CONTROL_SHARE = 0.02;

export interface SampleStats {
  /** Characters decoded (UTF-8, invalid sequences as U+FFFD). */
  chars: number;
  replacements: number;
  nuls: number;
  /** C0 controls other than tab, line feed, form feed and carriage return; DEL; C1 controls. */
  controls: number;
}

/** Counts what makes a sample look like something other than UTF-8 text. */
export function sampleStats(bytes: Uint8Array): SampleStats {
  // stream: a character cut at the sample's end is not counted as an invalid one.
  const text = new TextDecoder('utf-8', { fatal: false, ignoreBOM: false }).decode(bytes, { stream: true });
  const stats: SampleStats = { chars: 0, replacements: 0, nuls: 0, controls: 0 };
  for (const ch of text) {
    stats.chars++;
    const c = ch.codePointAt(0)!;
    if (c === 0xfffd) stats.replacements++;
    else if (c === 0) stats.nuls++;
    else if ((c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0c && c !== 0x0d) || (c >= 0x7f && c <= 0x9f))
      stats.controls++;
  }
  return stats;
}

function percent(part: number, whole: number): string {
  const p = (100 * part) / whole;
  return `${p < 1 ? p.toFixed(1) : Math.round(p)}%`;
}

/** Why a sample does not read as text, in words; null when it does. */
export function notTextReason(bytes: Uint8Array): string | null {
  const s = sampleStats(bytes);
  if (s.chars === 0) return null;
  const found: string[] = [];
  if (s.replacements / s.chars > MAX_REPLACEMENT_SHARE)
    found.push(`${percent(s.replacements, s.chars)} bytes that are not UTF-8`);
  if (s.nuls / s.chars > MAX_NUL_SHARE) found.push(`${percent(s.nuls, s.chars)} NUL bytes`);
  if (s.controls / s.chars > MAX_CONTROL_SHARE) found.push(`${percent(s.controls, s.chars)} control characters`);
  return found.length > 0 ? found.join(', ') : null;
}

/** A picked file that does not look like text, waiting for "Use anyway" or "Remove". */
export interface FlaggedFile {
  name: string;
  message: string;
}

export interface PickCheck {
  /** Files to keep in the form (flagged ones included, until removed). */
  files: PickedFile[];
  /** One sentence per refused file, naming it. */
  refused: string[];
  flagged: FlaggedFile[];
}

/** Parquet is binary by design: only its size is checked. */
function isTextName(name: string): boolean {
  return !name.toLowerCase().endsWith('.parquet');
}

async function readSample(blob: Blob): Promise<Uint8Array> {
  return new Uint8Array(await blob.slice(0, SAMPLE_BYTES).arrayBuffer());
}

/** Sorts picked files into kept, refused (empty) and flagged (not text), reading at most 64 KB of each. */
export async function checkPickedFiles(files: readonly PickedFile[]): Promise<PickCheck> {
  const out: PickCheck = { files: [], refused: [], flagged: [] };
  for (const file of files) {
    if (file.blob.size === 0) {
      out.refused.push(`"${file.name}" is empty (0 bytes): there is no text in it to train on, so it was not added.`);
      continue;
    }
    out.files.push(file);
    if (!isTextName(file.name)) continue;
    const reason = notTextReason(await readSample(file.blob));
    if (reason) {
      const where = file.blob.size > SAMPLE_BYTES ? 'its first 64 KB hold' : 'it holds';
      out.flagged.push({
        name: file.name,
        message: `"${file.name}" does not look like text: ${where} ${reason}. A binary file, or text in another encoding than UTF-8, would train the model on noise.`,
      });
    }
  }
  return out;
}
