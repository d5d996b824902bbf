/**
 * `export --run <run dir> --out <dir>`: the run's checkpoint as a bare Hugging Face folder
 * (model.safetensors, config.json, tokenizer.json), the same bytes the run directory holds.
 */
import { resolve } from 'node:path';
import { DataError } from '../data/types';
import { hfFolderFiles, readRunDir } from '../train/run-dir';
import { parseFlags } from './args';
import { folderEntries, readRunFolder, writeFolder } from './run-folder';
import { messageOf } from '../util/errors';

const USAGE = 'usage: export --run <run dir> --out <dir>';

export async function exportCommand(args: string[]): Promise<number> {
  try {
    const { values } = parseFlags(args, { run: { type: 'string' }, out: { type: 'string' } }, { command: 'export' });
    if (!values.run || !values.out) throw new DataError('config', USAGE);
    const dir = resolve(values.run);
    const out = resolve(values.out);
    if (out === dir) throw new DataError('config', '--out is the run directory itself: give another folder');
    const entries = await folderEntries(out);
    if (entries.length > 0)
      throw new DataError('config', `${out} is not empty: give a new or empty folder as --out (nothing was written)`);
    const { record, checkpoint } = readRunDir(await readRunFolder(dir));
    await writeFolder(out, hfFolderFiles(record.summary.settings.model, checkpoint.params, record.tokenizerJson));
    process.stdout.write(
      `${JSON.stringify({ run: dir, out, step: checkpoint.step, files: ['model.safetensors', 'config.json', 'tokenizer.json'] })}\n`,
    );
    return 0;
  } catch (error) {
    process.stderr.write(`export: ${messageOf(error)}\n`);
    return error instanceof DataError ? 2 : 1;
  }
}
