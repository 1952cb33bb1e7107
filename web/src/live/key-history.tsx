import { useEffect, useState } from 'preact/hooks';
import type { ClusterFeed } from './cluster-feed';
import { callAny } from './rest';

interface Version {
  readonly type: 'put' | 'delete';
  readonly value?: string;
  readonly valueBase64?: string;
  readonly modRevision: number;
  readonly version?: number;
}

const versionsShownMax = 20;

/** A key's earlier versions, where the cluster has the history route; otherwise says how to read one. */
export function KeyHistory(props: { feed: ClusterFeed; keyName: string }) {
  const { feed, keyName } = props;
  const available = feed.hello?.features['keyHistory'] === true;
  const [versions, setVersions] = useState<readonly Version[] | string>('loading…');
  useEffect(() => {
    if (!available) return;
    const path = `/history/${keyName.split('/').map(encodeURIComponent).join('/')}?limit=${versionsShownMax}`;
    void callAny<{ versions: Version[] }>(feed.liveUrls(), path).then((answer) => setVersions(answer.ok ? answer.body.versions : `history: ${answer.message}`));
  }, [keyName, available]);
  if (!available) return <p class="hint">Earlier versions: this cluster has no version-history route; read one with GET /kv/KEY?rev=N.</p>;
  if (typeof versions === 'string') return <p class="hint">{versions}</p>;
  return (
    <ol class="versions" aria-label={`versions of ${keyName}`}>
      {versions.map((v) => (
        <li key={v.modRevision}>
          revision {v.modRevision}: {v.type === 'delete' ? 'deleted' : `${v.value ?? `(bytes) ${v.valueBase64}`} (version ${v.version})`}
        </li>
      ))}
    </ol>
  );
}
