/**
 * GPT Garden's page. For now a placeholder that reports whether this browser offers WebGPU.
 * The UI never imports the engine directly (lint rule): it will talk to a worker by messages.
 */
import { StrictMode, useEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';

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
      return <p>Checking for WebGPU…</p>;
    case 'ok':
      return <p>WebGPU is available in this browser (adapter: {gpu.name}).</p>;
    case 'no-adapter':
      return (
        <p role="alert">
          This browser has WebGPU (<code>navigator.gpu</code>) but offered no GPU adapter. Check that hardware
          acceleration is on and see <code>chrome://gpu</code> for why WebGPU may be disabled.
        </p>
      );
    case 'missing':
      return (
        <p role="alert">
          WebGPU is not available here (<code>navigator.gpu</code> is missing). Use a recent Chrome or Edge (113+), or
          Firefox/Safari with WebGPU enabled; the page must be served over HTTPS or from localhost.
        </p>
      );
  }
}

function App() {
  return (
    <main style={{ fontFamily: 'system-ui, sans-serif', maxWidth: '40rem', margin: '3rem auto', padding: '0 1rem' }}>
      <h1>GPT Garden</h1>
      <p>Train a not-so-large GPT from scratch in your browser, on WebGPU. The lab is under construction.</p>
      <WebGpuStatus />
    </main>
  );
}

const root = document.getElementById('root');
if (!root) throw new Error('GPT Garden: #root element missing from index.html');
createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
