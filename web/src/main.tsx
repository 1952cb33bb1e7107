import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { LiveView } from './live/live-view';
import { SimView } from './sim/sim-view';
import './styles.css';

type Mode = 'live' | 'sim';

function modeFromHash(): Mode {
  return location.hash === '#sim' ? 'sim' : 'live';
}

function App() {
  const [mode, setMode] = useState<Mode>(modeFromHash);
  useEffect(() => {
    const onHash = (): void => setMode(modeFromHash());
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);
  return (
    <>
      <header class="top">
        <h1>Keel</h1>
        <nav aria-label="mode">
          <a href="#live" aria-current={mode === 'live' ? 'page' : undefined}>
            Live cluster
          </a>
          <a href="#sim" aria-current={mode === 'sim' ? 'page' : undefined}>
            Simulation
          </a>
        </nav>
      </header>
      <main>{mode === 'live' ? <LiveView /> : <SimView />}</main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
