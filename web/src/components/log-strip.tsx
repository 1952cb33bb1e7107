import { termColor } from './term-color';

export interface StripEntry {
  readonly index: number;
  readonly term: number;
}

/** A node's log as a row of cells coloured by term, the commit point marked. */
export function LogStrip(props: { entries: readonly StripEntry[]; commit: number; label: string }) {
  const { entries, commit, label } = props;
  return (
    <div
      class="log-strip"
      role="img"
      aria-label={`${label}: ${entries.length} entries shown, last index ${entries[entries.length - 1]?.index ?? 0}, commit ${commit}`}
    >
      {entries.map((e) => (
        <span
          key={e.index}
          class={e.index <= commit ? 'cell committed' : 'cell'}
          style={{ background: termColor(e.term) }}
          title={`index ${e.index}, term ${e.term}${e.index <= commit ? ', committed' : ''}`}
        >
          {e.term}
          {e.index === commit && <i class="commit-mark" aria-hidden="true" />}
        </span>
      ))}
    </div>
  );
}
