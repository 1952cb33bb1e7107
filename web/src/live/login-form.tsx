import { useState } from 'preact/hooks';
import { call, json } from './rest';
import { currentToken, setToken } from './auth-token';

/**
 * Shown while the page cannot reach the cluster's feed: with authentication enabled the
 * feed needs a user with the root role. Logs in through etcd's gateway path and reloads
 * the page with the token.
 */
export function LoginForm() {
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [message, setMessage] = useState(
    currentToken() ? 'Logged in, but the feed still refuses: the token may have expired, or the user lacks the root role.' : '',
  );
  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    const answer = await call<{ token?: string }>(`${location.origin}/v3/auth/authenticate`, json('POST', { name, password }));
    if (!answer.ok || !answer.body.token) {
      setMessage(answer.ok ? 'no token in the answer' : answer.message);
      return;
    }
    setToken(answer.body.token);
    location.reload();
  };
  return (
    <form class="panel login" aria-label="log in" onSubmit={(event) => void submit(event)}>
      <p class="hint">If the cluster has authentication enabled, log in as a user with the root role.</p>
      <label>
        User <input name="user" autocomplete="username" value={name} onInput={(e) => setName(e.currentTarget.value)} />
      </label>
      <label>
        Password <input name="password" type="password" autocomplete="current-password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
      </label>
      <button type="submit">Log in</button>
      <p role="status" aria-live="polite" class="result">
        {message}
      </p>
    </form>
  );
}
