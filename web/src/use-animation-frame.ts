import { useEffect, useState } from 'preact/hooks';

/** Re-renders on every animation frame while mounted; returns performance.now(). */
export function useAnimationFrame(running = true): number {
  const [now, setNow] = useState(() => performance.now());
  useEffect(() => {
    if (!running) return;
    let handle = requestAnimationFrame(function frame(t) {
      setNow(t);
      handle = requestAnimationFrame(frame);
    });
    return () => cancelAnimationFrame(handle);
  }, [running]);
  return now;
}
