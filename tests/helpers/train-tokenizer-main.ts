/** `train-tokenizer` as its own process (run with `node --import tsx`), for the Ctrl-C test. */
import { trainTokenizerCommand } from '../../src/cli/train-tokenizer';

process.exitCode = await trainTokenizerCommand(process.argv.slice(2));
