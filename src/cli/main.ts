/**
 * gpt-garden command line: `npm run cli -- <command> [options]`.
 * Runs the engine headless on Dawn (a real GPU when present, SwiftShader otherwise).
 */
import { readFile } from 'node:fs/promises';
import { createNodeContext } from '../gpu/node';
import { checkFixture, formatReport } from '../train/fixture-check';
import { parseFlags } from './args';
import { benchCommand } from './bench';
import { checkOpsCommand } from './check-ops';
import { exportCommand } from './export';
import { planCommand } from './plan';
import { prepareCommand } from './prepare';
import { sampleCommand } from './sample';
import { tokenizeCommand } from './tokenize';
import { trainCommand } from './train';
import { trainTokenizerCommand } from './train-tokenizer';
import { messageOf } from '../util/errors';

const HELP = `gpt-garden <command>

  check-fixture <file.safetensors>   forward, backward, two AdamW steps and greedy decoding against a
                                     PyTorch fixture; exits 1 if any error exceeds float32 tolerance
  check-ops [--only <substring>] [--list] [--out f.json]
                                     every kernel (f32 and f16 variants, forward and backward) against
                                     its float64 reference on odd sizes; exits 1 if any case fails
  train-tokenizer --vocab N (--source SRC [--sample-mb N] | --in corpus.txt) --out tokenizer.json
                  [--min-frequency N] [--stall-timeout S]   (train-tokenizer --help: every flag)
                                     train a byte-level BPE (Hugging Face tokenizer.json)
  tokenize --tokenizer tokenizer.json --text "..."   print the ids as a JSON array (last line)
  tokenize --tokenizer tokenizer.json --decode "[ids]"   print the decoded text
  prepare --source <dataset id | url | file | bundled> --tokenizer tokenizer.json --out dir
          [--max-tokens N] [--column text] [--shard-tokens N] [--val-fraction F (0-0.5]] [--stall-timeout S]
                                     tokenize a corpus into token shards + manifest.json (resumable);
                                     a source is an existing file, bundled (the package's corpus), a
                                     Hub id owner/name or hf:name, or an http(s) URL; a server silent
                                     for S seconds (default 30) is retried, then given up on
  plan --flops C [--fit hoffmann|epoch] [--vocab N] [--block N]
                                     the compute-optimal model and token count for a FLOP budget
                                     (Chinchilla fits); the plan as JSON on the last line
  train --data <dir from prepare> --out <run dir> [--layers N --heads N --width N --block N --batch N
        [--micro-batch auto|N | --accum N] --steps N | --tokens N --lr X --min-lr X --warmup N --weight-decay X --grad-clip X
        --eval-every N --eval-batches N --checkpoint-every N --seed N] [--plan <plan JSON | file>]
        [--init <Hugging Face folder>] [--print-every N] [--precision f32|mixed]
                                     train on the GPU (mixed: f16 weight copies and activations,
                                     f32 master weights, dynamic loss scaling; default f32); the run directory is a Hugging Face folder plus
                                     training_state.safetensors, run.json and log.jsonl; Ctrl-C
                                     checkpoints and exits; the summary as JSON on the last line
  train --resume <run dir> [--data <dir>] [--steps N]   continue a run (the lab's full-state download too)
  sample --run <run dir | Hugging Face folder> --prompt "life is about" [--tokens N --temperature T
         --top-k K --top-p P --seed S]      stream generated text (--temperature 0: greedy)
  export --run <run dir> --out <dir>  the bare Hugging Face folder (config.json, model.safetensors,
                                     tokenizer.json) of the run's latest checkpoint
  bench [--profile] [options]        kernel GFLOP/s and GB/s, training-step tokens/s
      --model seed|small|tiny        model to time (default: seed on a GPU, tiny on SwiftShader)
      --layers N --heads N --width N --vocab N --block N --batch N --accum N
                                     override the model, micro-batch and accumulation
      --matmul N                     square matmul size (default 4096 on a GPU, 256 on SwiftShader)
      --steps N                      timed training steps (default 10)
      --precision f32|mixed          the training step's precision (default f32)
      --out file.json                also write the results as JSON
      --profile                      time each dispatch of one training step (timestamp queries):
                                     a table per op and direction, beside the step's wall time
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === 'help' || command === '--help') {
    process.stdout.write(HELP);
    return command ? 0 : 1;
  }
  if (command === 'check-fixture') {
    const { positionals } = parseFlags(rest, {}, { positionals: 1, command: 'check-fixture' });
    if (positionals.length !== 1) throw new Error('usage: check-fixture <file.safetensors>');
    const bytes = new Uint8Array(await readFile(positionals[0]!));
    const ctx = await createNodeContext();
    console.log(`device: ${ctx.adapterInfo.description || ctx.adapterInfo.vendor || 'unknown'}`);
    const report = await checkFixture(ctx, bytes);
    console.log(formatReport(report));
    ctx.device.destroy();
    return report.ok ? 0 : 1;
  }
  if (command === 'check-ops') return checkOpsCommand(rest);
  if (command === 'train-tokenizer') return trainTokenizerCommand(rest);
  if (command === 'tokenize') return tokenizeCommand(rest);
  if (command === 'prepare') return prepareCommand(rest);
  if (command === 'plan') return planCommand(rest);
  if (command === 'train') return trainCommand(rest);
  if (command === 'sample') return sampleCommand(rest);
  if (command === 'export') return exportCommand(rest);
  if (command === 'bench') return benchCommand(rest);
  throw new Error(`unknown command "${command}"\n\n${HELP}`);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`gpt-garden: ${messageOf(error)}`);
    process.exit(2);
  },
);
