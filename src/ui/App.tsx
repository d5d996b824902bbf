/**
 * The lab's shell: a header, the WebGPU check and one section at a time (Train first: a first
 * visit needs no choices before pressing Train).
 */
import { useEffect, useState, type ReactNode } from 'react';
import { DataPanel } from './data/DataPanel';
import { ErrorBoundary } from './ErrorBoundary';
import { TrainPanel } from './lab/TrainPanel';
import { appSweepStore } from './plan/browser-plan';
import { navStore, useSection } from './plan/nav-store';
import { PlanTab } from './plan/PlanTab';

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
  { id: 'train', title: 'Train', render: () => <TrainPanel /> },
  { id: 'data', title: 'Data', render: () => <DataPanel /> },
  { id: 'plan', title: 'Plan', render: () => <PlanTab /> },
];

export function App() {
  const current = useSection();
  const setCurrent = navStore.getState().show;
  // A sweep that was running before a reload continues from any tab.
  useEffect(() => {
    void appSweepStore().getState().init();
  }, []);
  const section = SECTIONS.find((s) => s.id === current) ?? SECTIONS[0];
  return (
    <div className="app">
      <header className="app-header">
        <h1>GPT Garden</h1>
        <p className="tagline">Train a not-so-large GPT from scratch in your browser, on WebGPU.</p>
        <WebGpuStatus />
        {/* Tabs, not buttons: the only button named "Train" is the one that starts training. */}
        <nav aria-label="Lab sections" role="tablist">
          {SECTIONS.map((s) => (
            <button
              key={s.id}
              type="button"
              role="tab"
              id={`tab-${s.id}`}
              aria-controls="section"
              className={s.id === current ? 'nav-item current' : 'nav-item'}
              aria-selected={s.id === current}
              onClick={() => setCurrent(s.id)}
            >
              {s.title}
            </button>
          ))}
        </nav>
      </header>
      <main id="section" role="tabpanel" aria-labelledby="section-title">
        <h2 id="section-title">{section.title}</h2>
        {/* Keyed by section: a panel that failed gets a fresh boundary when shown again. */}
        <ErrorBoundary key={section.id} name={section.title}>
          {section.render()}
        </ErrorBoundary>
      </main>
    </div>
  );
}
