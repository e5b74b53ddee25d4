import { Body, Controller, Header, HttpCode, HttpStatus, Post, UseFilters, UseGuards } from '@nestjs/common';
import { ApiBasicAuth, ApiBody, ApiConsumes, ApiOkResponse, ApiServiceUnavailableResponse, ApiTags, ApiUnauthorizedResponse } from '@nestjs/swagger';

import { Public } from '../auth/auth.decorators';
import { Client, ClientInfo } from '../auth/client-info.decorator';
import { IntrospectionResponse, IntrospectionService } from './introspection.service';
import { OAuthClientGuard, OAuthClientId } from './oauth-client.guard';
import { RevocationService } from './revocation.service';
import { TokenCheckUnavailableFilter } from './token-check-unavailable.filter';
import { parseTokenRequest } from './token-request';

const TOKEN_REQUEST_BODY = {
  schema: {
    type: 'object',
    required: ['token'],
    properties: {
      token: { type: 'string' },
      token_type_hint: { type: 'string', enum: ['access_token', 'refresh_token'] },
    },
  },
};

/**
 * RFC 7662 introspection and RFC 7009 revocation, for gateways and services
 * that hold client credentials instead of a user's token. The bearer guard
 * does not apply; OAuthClientGuard does.
 */
@ApiTags('oauth')
@ApiBasicAuth()
@Public()
@UseGuards(OAuthClientGuard)
@UseFilters(TokenCheckUnavailableFilter)
@ApiUnauthorizedResponse({ description: 'Client authentication failed (`invalid_client`).' })
@Controller('oauth')
export class OAuthController {
  constructor(
    private readonly introspection: IntrospectionService,
    private readonly revocation: RevocationService,
  ) {}

  @Post('introspect')
  @HttpCode(HttpStatus.OK)
  @Header('Cache-Control', 'no-store')
  @ApiConsumes('application/x-www-form-urlencoded')
  @ApiBody(TOKEN_REQUEST_BODY)
  @ApiOkResponse({ description: '`{active: true, ...claims}` for a live access token, `{active: false}` for anything else.' })
  @ApiServiceUnavailableResponse({ description: 'The token state could not be read, so the token is never reported active.' })
  introspect(@Body() body: unknown): Promise<IntrospectionResponse> {
    return this.introspection.introspect(parseTokenRequest(body).token);
  }

  @Post('revoke')
  @HttpCode(HttpStatus.OK)
  @Header('Cache-Control', 'no-store')
  @ApiConsumes('application/x-www-form-urlencoded')
  @ApiBody(TOKEN_REQUEST_BODY)
  @ApiOkResponse({ description: "The token's session has ended, or the token was invalid or already dead." })
  @ApiServiceUnavailableResponse({ description: 'The access token could not be checked; retry later.' })
  revoke(@Body() body: unknown, @OAuthClientId() clientId: string, @Client() client: ClientInfo): Promise<void> {
    return this.revocation.revoke(parseTokenRequest(body).token, clientId, client);
  }
}
