/**
 * The files a person picks to import a model: the three files of a Hugging Face folder, or the zip
 * the lab's Download made (unpacked here; the worker only sees named bytes).
 */
import { unzipSync } from 'fflate';
import type { StoreApi } from 'zustand';
import { messageOf } from '../../util/errors';
import { isBusy, type LabState } from './lab-state';

export interface NamedBytes {
  name: string;
  bytes: Uint8Array;
}

function isZip(name: string, bytes: Uint8Array): boolean {
  return (
    name.toLowerCase().endsWith('.zip') ||
    (bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04)
  );
}

/** Every picked file, zips expanded to their entries (folders inside them kept in the names). */
export async function readModelFiles(
  files: readonly { name: string; arrayBuffer(): Promise<ArrayBuffer> }[],
): Promise<NamedBytes[]> {
  const out: NamedBytes[] = [];
  for (const file of files) {
    const bytes = new Uint8Array(await file.arrayBuffer());
    if (!isZip(file.name, bytes)) {
      out.push({ name: file.name, bytes });
      continue;
    }
    let entries: Record<string, Uint8Array>;
    try {
      entries = unzipSync(bytes);
    } catch (error) {
      throw new Error(`${file.name} is not a readable zip (${messageOf(error)})`, { cause: error });
    }
    for (const [name, data] of Object.entries(entries)) if (!name.endsWith('/')) out.push({ name, bytes: data });
  }
  return out;
}

/** How the import is named in the runs list: the zip, or the folder the files came from. */
export function importSource(files: readonly { name: string }[]): string {
  const zip = files.find((f) => f.name.toLowerCase().endsWith('.zip'));
  return zip ? zip.name : files.length === 1 ? files[0]!.name : `${files.length} files`;
}

/**
 * Reads the picked files and hands them to the store's import. A file that cannot be read (a zip
 * that is not one) is the store's error like any other import error, shown in the same alert.
 */
export async function importPicked(
  files: readonly { name: string; arrayBuffer(): Promise<ArrayBuffer> }[],
  lab: Pick<StoreApi<LabState>, 'getState' | 'setState'>,
): Promise<void> {
  if (files.length === 0 || isBusy(lab.getState().phase)) return;
  let named: NamedBytes[];
  try {
    named = await readModelFiles(files);
  } catch (error) {
    lab.setState({ error: { kind: 'data', message: messageOf(error) } });
    return;
  }
  lab.getState().importRun(named, importSource(files));
}
