import { Controller, Get, Header } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';

import { Public } from '../auth.decorators';
import { SigningKeysService } from './signing-keys.service';

/**
 * Public keys for services that check signatures themselves. A signature
 * check alone cannot see revocations; those need the guard or introspection.
 */
@ApiTags('keys')
@Public()
@Controller('.well-known')
export class JwksController {
  constructor(private readonly keys: SigningKeysService) {}

  @Get('jwks.json')
  @Header('Cache-Control', 'public, max-age=300')
  @ApiOkResponse({ description: 'JSON Web Key Set; empty with HS256, whose secret is never published.' })
  jwks(): { keys: object[] } {
    if (this.keys.algorithm === 'HS256') return { keys: [] };
    return {
      keys: this.keys.listVerificationKeys().map(({ kid, algorithm, key }) => ({
        ...key.export({ format: 'jwk' }),
        kid,
        alg: algorithm,
        use: 'sig',
      })),
    };
  }
}
