import { isIP } from 'node:net';

import { FastifyRequest } from 'fastify';

const IPV4_WITH_PORT = /^(\d{1,3}(?:\.\d{1,3}){3}):\d{1,5}$/;
const BRACKETED_IPV6 = /^\[([^\]]+)\](?::\d{1,5})?$/;

/**
 * Return the client's IP address, or null when there is none.
 *
 * With TRUSTED_PROXIES, Fastify takes `request.ip` from X-Forwarded-For as
 * written, so it can be any string: `1.2.3.4:5678` from a load balancer that
 * adds the port, `fe80::1%eth0` with a zone, or garbage passed through from a
 * client. The database columns are `inet` and the rate limiter keys on the
 * address, so anything that is not an address after removing a port, brackets
 * or zone falls back to the address of the connection itself.
 */
export function clientAddress(request: Pick<FastifyRequest, 'ip'> & { socket?: { remoteAddress?: string } }): string | null {
  const normalized = normalizeAddress(request.ip);
  if (normalized !== null) return normalized;
  return normalizeAddress(request.socket?.remoteAddress);
}

function normalizeAddress(value: string | undefined): string | null {
  if (typeof value !== 'string' || value.length === 0 || value.length > 64) return null;

  let address = value.trim();
  address = IPV4_WITH_PORT.exec(address)?.[1] ?? BRACKETED_IPV6.exec(address)?.[1] ?? address;
  const zone = address.indexOf('%');
  if (zone !== -1) address = address.slice(0, zone);
  return isIP(address) === 0 ? null : address;
}
