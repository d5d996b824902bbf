/** Runs the PyTorch fixture check inside the browser, on the same engine modules Node uses. */
import { createBrowserContext } from '../../src/gpu/browser';
import { checkFixture, formatReport } from '../../src/train/fixture-check';

const out = document.getElementById('result')!;

async function run(): Promise<void> {
  const name = new URLSearchParams(location.search).get('fixture') ?? 'gpt-tiny';
  const bytes = new Uint8Array(await (await fetch(`/tests/fixtures/${name}.safetensors`)).arrayBuffer());
  const ctx = await createBrowserContext();
  const report = await checkFixture(ctx, bytes);
  out.textContent = formatReport(report);
  out.dataset.status = report.ok ? 'ok' : 'failed';
}

run().catch((error: unknown) => {
  out.textContent = `error: ${error instanceof Error ? error.message : String(error)}`;
  out.dataset.status = 'error';
});
