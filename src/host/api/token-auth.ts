/**
 * Bearer-token check for every listener. Compared in constant time over digests so neither content nor length leaks through timing.
 * A request without an Authorization header may instead be let in by another credential (the web
 * console's session cookie), and the web console's pages and assets, which carry no data, need none.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** What another credential makes of a request: none offered, good, or offered and refused (why). */
export type OtherCredential = 'absent' | 'accepted' | { refused: string };

export interface OtherAuth {
  /** Requests that need no credential at all: pages and static assets that hold no data. */
  isPublic(req: FastifyRequest): boolean;
  /** Judges a request that carries no Authorization header. */
  check(req: FastifyRequest): OtherCredential;
}

/** A constant-time test of a presented secret against the token. */
export function tokenMatcher(token: string): (given: string) => boolean {
  const want = createHash('sha256').update(token).digest();
  return (given) => given !== '' && timingSafeEqual(want, createHash('sha256').update(given).digest());
}

export function tokenCheck(token: string, other?: OtherAuth): (req: FastifyRequest, reply: FastifyReply) => Promise<void> {
  const matches = tokenMatcher(token);
  return async (req, reply) => {
    if (other?.isPublic(req) === true) return;
    const h = req.headers.authorization;
    if (h === undefined && other !== undefined) {
      const verdict = other.check(req);
      if (verdict === 'accepted') return;
      if (verdict !== 'absent') {
        await reply.code(403).send({ error: { code: 'forbidden', message: verdict.refused, location: 'header' } });
        return;
      }
    }
    const given = typeof h === 'string' && h.startsWith('Bearer ') ? h.slice(7).trim() : '';
    if (!matches(given)) {
      await reply.code(401).header('www-authenticate', 'Bearer realm="viridian"').send({
        error: { code: 'unauthorized', message: 'this listener needs the access token: Authorization: Bearer <token from <data-dir>/access-token>', location: 'header', field: 'authorization' },
      });
    }
  };
}
