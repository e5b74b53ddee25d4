import { Algorithm, hash, verify } from '@node-rs/argon2';
import { Injectable, OnModuleInit } from '@nestjs/common';

import { InjectConfig } from '../config/app-config.module';
import { AppConfig } from '../config/configuration';

/**
 * Argon2id hashing of passwords. `verifyOrBurn` spends the same work whether
 * or not the user exists, so login timing does not reveal registered emails.
 */
@Injectable()
export class PasswordHasherService implements OnModuleInit {
  private readonly options;
  // A hash of a random password with the live parameters, verified when the
  // email is unknown so both paths do one full Argon2id computation.
  private dummyHash = '';

  constructor(@InjectConfig() config: AppConfig) {
    this.options = {
      algorithm: Algorithm.Argon2id,
      memoryCost: config.argon2.memoryCost,
      timeCost: config.argon2.timeCost,
      parallelism: config.argon2.parallelism,
    };
  }

  async onModuleInit(): Promise<void> {
    this.dummyHash = await hash(crypto.randomUUID(), this.options);
  }

  hash(password: string): Promise<string> {
    return hash(password, this.options);
  }

  /** Verify a password against a stored hash, or against the dummy hash when there is none. */
  async verifyOrBurn(storedHash: string | undefined, password: string): Promise<boolean> {
    const matches = await verify(storedHash ?? this.dummyHash, password).catch(() => false);
    return storedHash !== undefined && matches;
  }
}
