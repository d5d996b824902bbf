/**
 * The command line as a user runs it: the esbuild bundle (WGSL inlined, Dawn from node_modules) in
 * a child process. Each test process bundles its own copy, so parallel test files never run a
 * bundle another one is rewriting.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

const bundle = join('dist', `cli-test-${process.pid}.mjs`);
let built = false;

export async function buildCli(): Promise<string> {
  if (!built) {
    const result = spawnSync(process.execPath, ['scripts/build-cli.mjs', 'src/cli/main.ts', bundle], { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`building the CLI failed:\n${result.stderr}`);
    built = true;
  }
  return bundle;
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** Sends SIGINT once the run's log.jsonl (in the --out or --resume folder) has this many steps. */
  interruptAfterSteps?: number;
  /** Sends SIGKILL instead, once the log has this many steps (a crash: no checkpoint on the way out). */
  killAfterSteps?: number;
  /** SwiftShader unless the caller's environment chose a driver. */
  env?: NodeJS.ProcessEnv;
}

async function loggedSteps(runDir: string): Promise<number> {
  const text = await readFile(join(runDir, 'log.jsonl'), 'utf8').catch(() => '');
  return text.split('\n').filter((line) => line.includes('"loss"')).length;
}

/** Runs `gpt-garden <args>` to its end; resolves with its exit and output. */
export async function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  const script = await buildCli();
  const child = spawn(process.execPath, ['--enable-source-maps', script, ...args], { env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const after = options.interruptAfterSteps ?? options.killAfterSteps;
  const runDir = args[args.indexOf('--out') + 1] ?? args[args.indexOf('--resume') + 1];
  let watch: ReturnType<typeof setInterval> | undefined;
  if (after !== undefined && runDir) {
    watch = setInterval(() => {
      void loggedSteps(runDir).then((steps) => {
        if (steps < after || watch === undefined) return;
        clearInterval(watch);
        watch = undefined;
        child.kill(options.killAfterSteps !== undefined ? 'SIGKILL' : 'SIGINT');
      });
    }, 20);
  }
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (watch) clearInterval(watch);
      resolve({ code, signal, stdout, stderr });
    });
  });
}
