/**
 * The command line in tests: as a user runs it (the esbuild bundle, WGSL inlined, Dawn from
 * node_modules, in a child process: where signals matter), or a command function called in this
 * process with its output captured (no kernel compilation per call). Each test process bundles
 * its own copy, so parallel test files never run a bundle another one is rewriting.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { vi } from 'vitest';

const bundle = join('dist', `cli-test-${process.pid}.mjs`);
let built = false;

export async function buildCli(): Promise<string> {
  if (!built) {
    const result = spawnSync(process.execPath, ['scripts/build-cli.mjs', 'src/cli/main.ts', bundle], {
      encoding: 'utf8',
    });
    if (result.status !== 0) throw new Error(`building the CLI failed:\n${result.stderr}`);
    built = true;
  }
  return bundle;
}

/** Removes this process's bundle (call in afterAll). */
export async function removeCli(): Promise<void> {
  await rm(bundle, { force: true });
  await rm(`${bundle}.map`, { force: true });
  built = false;
}

export interface CliResult {
  code: number | null;
  signal?: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A command function (`trainCommand`, `prepareCommand`...) called here, stdout and stderr captured. */
export async function inProcess(command: (args: string[]) => Promise<number>, args: string[]): Promise<CliResult> {
  const out: string[] = [];
  const err: string[] = [];
  const stdout = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => (out.push(String(chunk)), true));
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => (err.push(String(chunk)), true));
  try {
    const code = await command(args);
    return { code, stdout: out.join(''), stderr: err.join('') };
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
  }
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
  const child = spawn(process.execPath, ['--enable-source-maps', script, ...args], {
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const after = options.interruptAfterSteps ?? options.killAfterSteps;
  const flag = args.includes('--resume') ? '--resume' : '--out';
  const runDir = args.includes(flag) ? args[args.indexOf(flag) + 1] : undefined;
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
