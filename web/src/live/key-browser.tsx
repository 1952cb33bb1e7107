import { useState } from 'preact/hooks';
import type { ClusterFeed } from './cluster-feed';
import { KeyHistory } from './key-history';
import { callAny, json, keyPath } from './rest';

interface Kv {
  readonly key?: string;
  readonly keyBase64?: string;
  readonly value?: string;
  readonly valueBase64?: string;
  readonly createRevision: number;
  readonly modRevision: number;
  readonly version: number;
}

interface ScanAnswer {
  readonly kvs: readonly Kv[];
  readonly count: number;
  readonly more: boolean;
  readonly revision: number;
}

const scanLimit = 100;

/** Put, get, delete, and a prefix scan with each key's version and revisions. */
export function KeyBrowser(props: { feed: ClusterFeed }) {
  const { feed } = props;
  const [key, setKey] = useState('');
  const [value, setValue] = useState('');
  const [prefix, setPrefix] = useState('');
  const [result, setResult] = useState('');
  const [scan, setScan] = useState<ScanAnswer | undefined>(undefined);
  const [selected, setSelected] = useState<Kv | undefined>(undefined);
  const [busy, setBusy] = useState(false);

  const run = async (action: () => Promise<string>): Promise<void> => {
    setBusy(true);
    try {
      setResult(await action());
    } finally {
      setBusy(false);
    }
  };

  const doScan = async (): Promise<string> => {
    const answer = await callAny<ScanAnswer>(feed.liveUrls(), `/kv?prefix=${encodeURIComponent(prefix)}&limit=${scanLimit}`);
    if (!answer.ok) return `scan failed: ${answer.message}`;
    setScan(answer.body);
    return `scan of "${prefix}": ${answer.body.count} keys at revision ${answer.body.revision}`;
  };

  const put = () =>
    run(async () => {
      if (key === '') return 'enter a key';
      const answer = await callAny<{ revision: number }>(feed.liveUrls(), keyPath(key), json('PUT', { value }));
      if (!answer.ok) return `put failed: ${answer.message}`;
      await doScan();
      return `put ${key} = ${value} at revision ${answer.body.revision}`;
    });
  const get = () =>
    run(async () => {
      if (key === '') return 'enter a key';
      const answer = await callAny<Kv>(feed.liveUrls(), keyPath(key));
      if (answer.ok) setSelected(answer.body);
      return answer.ok
        ? `${key} = ${answer.body.value ?? `(bytes) ${answer.body.valueBase64}`} (version ${answer.body.version})`
        : `get failed: ${answer.message}`;
    });
  const del = () =>
    run(async () => {
      if (key === '') return 'enter a key';
      const answer = await callAny<{ deleted: number; revision: number }>(feed.liveUrls(), keyPath(key), { method: 'DELETE' });
      if (!answer.ok) return `delete failed: ${answer.message}`;
      await doScan();
      return `deleted ${answer.body.deleted} at revision ${answer.body.revision}`;
    });

  return (
    <section class="panel" aria-labelledby="keys-title">
      <h2 id="keys-title">Keys</h2>
      <form
        class="row"
        onSubmit={(e) => {
          e.preventDefault();
          void put();
        }}
      >
        <label>
          Key <input value={key} onInput={(e) => setKey(e.currentTarget.value)} name="key" autocomplete="off" />
        </label>
        <label>
          Value <input value={value} onInput={(e) => setValue(e.currentTarget.value)} name="value" autocomplete="off" />
        </label>
        <button type="submit" disabled={busy}>
          Put
        </button>
        <button type="button" disabled={busy} onClick={() => void get()}>
          Get
        </button>
        <button type="button" disabled={busy} onClick={() => void del()}>
          Delete
        </button>
      </form>
      <p role="status" aria-live="polite" data-testid="kv-result" class="result">
        {result}
      </p>
      <form
        class="row"
        onSubmit={(e) => {
          e.preventDefault();
          void run(doScan);
        }}
      >
        <label>
          Prefix <input value={prefix} onInput={(e) => setPrefix(e.currentTarget.value)} name="prefix" autocomplete="off" />
        </label>
        <button type="submit" disabled={busy}>
          Scan
        </button>
      </form>
      {scan && (
        <div class="table-wrap">
          <table data-testid="key-table">
            <caption>
              {scan.count} keys{scan.more ? ` (first ${scanLimit} shown)` : ''} at revision {scan.revision}
            </caption>
            <thead>
              <tr>
                <th scope="col">key</th>
                <th scope="col">value</th>
                <th scope="col">version</th>
                <th scope="col">created</th>
                <th scope="col">modified</th>
              </tr>
            </thead>
            <tbody>
              {scan.kvs.map((kv) => (
                <tr key={kv.key ?? kv.keyBase64}>
                  <td>
                    <button
                      type="button"
                      class="link"
                      onClick={() => {
                        setSelected(kv);
                        setKey(kv.key ?? '');
                      }}
                    >
                      {kv.key ?? `(bytes) ${kv.keyBase64}`}
                    </button>
                  </td>
                  <td>{kv.value ?? `(bytes) ${kv.valueBase64}`}</td>
                  <td>{kv.version}</td>
                  <td>{kv.createRevision}</td>
                  <td>{kv.modRevision}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {selected && (
        <div class="detail" data-testid="key-detail">
          <p>
            <strong>{selected.key}</strong>: version {selected.version} (written {selected.version} time{selected.version === 1 ? '' : 's'} since it was created
            at revision {selected.createRevision}), last modified at revision {selected.modRevision}.
          </p>
          {selected.key !== undefined && <KeyHistory feed={feed} keyName={selected.key} />}
        </div>
      )}
    </section>
  );
}
