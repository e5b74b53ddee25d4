import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import { FastifyRequest } from 'fastify';

/** The origin of a request, recorded on sessions and audit events. */
export interface ClientInfo {
  // Fastify resolves it through X-Forwarded-For only from TRUSTED_PROXIES.
  ip: string | null;
  userAgent: string | null;
}

const USER_AGENT_MAX_LENGTH = 512;

export const Client = createParamDecorator((_data: unknown, context: ExecutionContext): ClientInfo => {
  const request = context.switchToHttp().getRequest<FastifyRequest>();
  const userAgent = request.headers['user-agent'];
  return {
    ip: request.ip || null,
    userAgent: typeof userAgent === 'string' ? userAgent.slice(0, USER_AGENT_MAX_LENGTH) : null,
  };
});
