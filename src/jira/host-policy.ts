import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';

/**
 * Where a connection may send credentials: https only, except to loopback (local development, the fake
 * Jira) or hosts an operator allow-lists; never to link-local or cloud metadata addresses, however the
 * name resolves (checked when saved and again on every connection, against DNS rebinding).
 */
export interface HostPolicy {
  allowHttpHosts: string[];
}

const METADATA_HOSTS = new Set(['metadata.google.internal', 'metadata.goog', 'metadata']);

export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/** Link-local (169.254/16, fe80::/10) covers the AWS/GCP/Azure metadata address; the rest are other clouds'. */
export function isForbiddenAddress(address: string): boolean {
  const a = address.toLowerCase();
  if (/^169\.254\./.test(a) || /^fe[89ab][0-9a-f]:/.test(a)) return true;
  if (a === '100.100.100.200' || a === 'fd00:ec2::254') return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  return mapped ? isForbiddenAddress(mapped[1]!) : false;
}

/** Why this base URL may not be used, or null when it may. */
export async function refuseHost(baseUrl: string, policy: HostPolicy): Promise<string | null> {
  const url = new URL(baseUrl);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && (isLoopback(host) || policy.allowHttpHosts.includes(host.toLowerCase())))) {
    return `must use https (http is accepted only for loopback or hosts in JIRA_HTTP_HOST_ALLOWLIST)`;
  }
  if (METADATA_HOSTS.has(host.toLowerCase())) return `${host} is a cloud metadata service`;
  const addresses = isIP(host) ? [host] : await lookup(host, { all: true }).then((r) => r.map((x) => x.address), () => []);
  const bad = addresses.find(isForbiddenAddress);
  return bad ? `${host} resolves to ${bad}, a link-local or cloud metadata address` : null;
}
