/**
 * The token of `keel cluster up`'s supervisor, which it prints in the dashboard's
 * address as `#supervisor-token=...`: taken from the address once, kept in this
 * origin's session storage (which pages of other origins cannot read), and removed from
 * the address bar so it is not shared with a copied link.
 */
const storageKey = 'keel.supervisorToken';
export const supervisorTokenHeader = 'x-keel-supervisor-token';

export function takeSupervisorToken(): string | undefined {
  const match = /^#supervisor-token=([A-Za-z0-9_-]+)$/.exec(location.hash);
  if (match?.[1]) {
    sessionStorage.setItem(storageKey, match[1]);
    history.replaceState(null, '', location.pathname + location.search);
  }
  return sessionStorage.getItem(storageKey) ?? undefined;
}
