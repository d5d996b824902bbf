/**
 * The lab's shell: a header, the WebGPU check and one section at a time. Only Data exists so far;
 * training and generation join SECTIONS as they are built.
 */
import { useEffect, useState, type ReactNode } from 'react';
import { DataPanel } from './data/DataPanel';

type GpuState = { kind: 'checking' } | { kind: 'missing' } | { kind: 'no-adapter' } | { kind: 'ok'; name: string };

function useWebGpu(): GpuState {
  const hasApi = typeof navigator !== 'undefined' && 'gpu' in navigator && !!navigator.gpu;
  const [state, setState] = useState<GpuState>(hasApi ? { kind: 'checking' } : { kind: 'missing' });
  useEffect(() => {
    if (!hasApi) return;
    let live = true;
    // navigator.gpu can exist with no usable adapter (blocklisted GPU, disabled hardware acceleration).
    navigator.gpu.requestAdapter().then(
      (adapter) => {
        if (!live) return;
        if (!adapter) setState({ kind: 'no-adapter' });
        else {
          const { vendor, architecture, description } = adapter.info;
          setState({ kind: 'ok', name: description || [vendor, architecture].filter(Boolean).join(' ') || 'unknown GPU' });
        }
      },
      () => live && setState({ kind: 'no-adapter' }),
    );
    return () => {
      live = false;
    };
  }, [hasApi]);
  return state;
}

function WebGpuStatus() {
  const gpu = useWebGpu();
  switch (gpu.kind) {
    case 'checking':
      return <p className="gpu-status">Checking for WebGPU…</p>;
    case 'ok':
      return <p className="gpu-status ok">WebGPU is available in this browser (adapter: {gpu.name}).</p>;
    case 'no-adapter':
      return (
        <p role="alert" className="gpu-status warn">
          This browser has WebGPU (<code>navigator.gpu</code>) but offered no GPU adapter. Check that hardware
          acceleration is on and see <code>chrome://gpu</code> for why WebGPU may be disabled.
        </p>
      );
    case 'missing':
      return (
        <p role="alert" className="gpu-status warn">
          WebGPU is not available here (<code>navigator.gpu</code> is missing). Use a recent Chrome or Edge (113+), or
          Firefox/Safari with WebGPU enabled; the page must be served over HTTPS or from localhost.
        </p>
      );
  }
}

interface Section {
  id: string;
  title: string;
  render(): ReactNode;
}

const SECTIONS: Section[] = [
  { id: 'data', title: 'Data', render: () => <DataPanel /> },
  {
    id: 'train',
    title: 'Train',
    render: () => <p className="card muted">Training in the browser comes next: pick a dataset here, then watch the loss fall.</p>,
  },
];

export function App() {
  const [current, setCurrent] = useState(SECTIONS[0].id);
  const section = SECTIONS.find((s) => s.id === current) ?? SECTIONS[0];
  return (
    <div className="app">
      <header className="app-header">
        <h1>GPT Garden</h1>
        <p className="tagline">Train a not-so-large GPT from scratch in your browser, on WebGPU.</p>
        <WebGpuStatus />
        <nav aria-label="Lab sections">
          {SECTIONS.map((s) => (
            <button
              key={s.id}
              type="button"
              className={s.id === current ? 'nav-item current' : 'nav-item'}
              aria-current={s.id === current ? 'page' : undefined}
              onClick={() => setCurrent(s.id)}
            >
              {s.title}
            </button>
          ))}
        </nav>
      </header>
      <main aria-labelledby="section-title">
        <h2 id="section-title">{section.title}</h2>
        {section.render()}
      </main>
    </div>
  );
}
