import { Module } from '@nestjs/common';

import { SigningKeysService } from './signing-keys.service';

/** The signing keys, in a module of their own so that the guard module's options factory can inject them. */
@Module({
  providers: [SigningKeysService],
  exports: [SigningKeysService],
})
export class KeysModule {}
