/**
 * Run directories on disk. A checkpoint changes three files (model.safetensors,
 * training_state.safetensors, run.json) that must always be read as one set, so it is written as a
 * small journal: every file goes into `.next-tmp/`, that folder is renamed to `.next/` (atomic: from
 * then on the new set is whole on disk), and the files are moved into place one by one, run.json
 * last. Whoever opens the folder next finishes an interrupted move first (`recoverRunFolder`), so a
 * crash at any moment leaves either the previous checkpoint or the new one, never a mix.
 */
import { mkdir, readFile, readdir, rename, rm, stat, writeFile, open } from 'node:fs/promises';
import { join } from 'node:path';
import { DataError } from '../data/types';
import { RUN_DIR_FILES, type RunDirFile } from '../train/run-dir';

const NEXT = '.next';
const NEXT_TMP = '.next-tmp';

async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined)) !== undefined;
}

/** Writes and flushes one file, so a rename after it never publishes a half-written file. */
async function writeDurable(path: string, bytes: Uint8Array): Promise<void> {
  const handle = await open(path, 'w');
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Finishes a checkpoint that a crash interrupted after its files were complete, and drops one that never was. */
export async function recoverRunFolder(dir: string): Promise<void> {
  await rm(join(dir, NEXT_TMP), { recursive: true, force: true });
  const next = join(dir, NEXT);
  if (!(await exists(next))) return;
  const present = new Set(await readdir(next));
  // Same order as the write: a file already moved is no longer in .next.
  for (const name of RUN_DIR_FILES) if (present.has(name)) await rename(join(next, name), join(dir, name));
  await rm(next, { recursive: true, force: true });
}

/** Saves a checkpoint's files (runDirFiles' output) into the run folder, crash-safely. */
export async function writeRunCheckpoint(dir: string, files: RunDirFile[]): Promise<void> {
  await mkdir(dir, { recursive: true });
  await recoverRunFolder(dir);
  const tmp = join(dir, NEXT_TMP);
  await mkdir(tmp);
  for (const f of files) await writeDurable(join(tmp, f.name), f.bytes);
  await rename(tmp, join(dir, NEXT));
  await recoverRunFolder(dir);
}

/** Writes files into a folder, each to a temporary name first and renamed (for `export`). */
export async function writeFolder(dir: string, files: RunDirFile[]): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const f of files) {
    const path = join(dir, f.name);
    await writeDurable(`${path}.tmp`, f.bytes);
    await rename(`${path}.tmp`, path);
  }
}

/** The files of a run directory or a Hugging Face folder that are present (absent ones are left out). */
export async function readRunFolder(dir: string, names: readonly string[] = RUN_DIR_FILES): Promise<RunDirFile[]> {
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory())
    throw new DataError(
      'config',
      `${dir} is not a folder: give a run directory (train --out) or a Hugging Face model folder`,
    );
  // Reads only (a run may be training into this folder). Files still in .next/ are the newer whole
  // set, the others were moved already, so preferring .next/ reads one checkpoint; a read that a
  // checkpoint started or finished during is done again.
  for (let attempt = 0; ; attempt++) {
    const before = await checkpointMark(dir);
    const files = await readFiles(dir, names);
    if (before === (await checkpointMark(dir)) || attempt >= 20) return files;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Changes whenever a checkpoint is moved into the folder. */
async function checkpointMark(dir: string): Promise<string> {
  const moving = await exists(join(dir, NEXT));
  const run = await stat(join(dir, 'run.json')).catch(() => undefined);
  return `${moving ? 'moving' : 'still'} ${run?.ino ?? 0} ${run?.mtimeMs ?? 0}`;
}

async function readFiles(dir: string, names: readonly string[]): Promise<RunDirFile[]> {
  const files: RunDirFile[] = [];
  for (const name of names) {
    const bytes =
      (await readFile(join(dir, NEXT, name)).catch(() => undefined)) ??
      (await readFile(join(dir, name)).catch(() => undefined));
    if (bytes) files.push({ name, bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) });
  }
  return files;
}

/** Writes a small text file through a temporary name. */
export async function writeTextAtomic(path: string, text: string): Promise<void> {
  await writeFile(`${path}.tmp`, text);
  await rename(`${path}.tmp`, path);
}

/** Entries of a folder (none when it does not exist). */
export async function folderEntries(dir: string): Promise<string[]> {
  return readdir(dir).catch((error: { code?: string }) => {
    if (error.code === 'ENOENT') return [];
    throw error;
  });
}
