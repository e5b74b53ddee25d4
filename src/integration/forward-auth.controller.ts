import { Controller, Get, Header, HttpCode, HttpStatus, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiTags, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { FastifyReply } from 'fastify';

import { CurrentPrincipal } from '../auth/auth.decorators';
import { Principal } from '../token-state/token-state.types';

/**
 * Forward authentication for gateways (nginx `auth_request`, Traefik
 * ForwardAuth and the like). It is an ordinary guarded route, so it costs what
 * the guard costs, and the gateway passes the headers on to its upstream.
 */
@ApiTags('integration')
@Controller('auth')
export class ForwardAuthController {
  @Get('verify')
  @HttpCode(HttpStatus.OK)
  @Header('Cache-Control', 'no-store')
  @ApiBearerAuth()
  @ApiOkResponse({ description: 'The token is live. X-User-Id, X-Session-Id and X-User-Role name its owner; the body is empty.' })
  @ApiUnauthorizedResponse({ description: 'The token is missing, invalid, expired or revoked.' })
  verify(@CurrentPrincipal() principal: Principal, @Res({ passthrough: true }) reply: FastifyReply): void {
    void reply.header('X-User-Id', principal.userId).header('X-Session-Id', principal.sessionId).header('X-User-Role', principal.role);
  }
}
