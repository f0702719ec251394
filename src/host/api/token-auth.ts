/**
 * Bearer-token check for every listener. Compared in constant time over digests so neither content nor length leaks through timing.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

export function tokenCheck(token: string): (req: FastifyRequest, reply: FastifyReply) => Promise<void> {
  const want = createHash('sha256').update(token).digest();
  return async (req, reply) => {
    const h = req.headers.authorization;
    const given = typeof h === 'string' && h.startsWith('Bearer ') ? h.slice(7).trim() : '';
    const got = createHash('sha256').update(given).digest();
    if (given === '' || !timingSafeEqual(want, got)) {
      await reply.code(401).header('www-authenticate', 'Bearer realm="viridian"').send({
        error: { code: 'unauthorized', message: 'this listener needs the access token: Authorization: Bearer <token from <data-dir>/access-token>', location: 'header', field: 'authorization' },
      });
    }
  };
}
