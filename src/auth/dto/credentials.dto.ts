import { ApiProperty, PickType } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsEmail, IsString, MaxLength, MinLength } from 'class-validator';

// Argon2 hashes any length, so the cap is about cost: a megabyte password
// must be rejected before it reaches the hasher.
export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 128;
export const EMAIL_MAX_LENGTH = 254;

// A UTF-16 surrogate without its pair, which JSON allows as an escape (\ud800).
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * Trim an email and replace lone surrogates with U+FFFD: validator's isEmail
 * passes the value to encodeURI, which throws on them and turned such a
 * request into a 500.
 */
const normalizeEmail = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.replace(LONE_SURROGATE, '\ufffd').trim() : value);

export class CredentialsDto {
  @ApiProperty({ example: 'ada@example.com', maxLength: EMAIL_MAX_LENGTH })
  @Transform(normalizeEmail)
  @IsString()
  @MaxLength(EMAIL_MAX_LENGTH)
  @IsEmail({}, { message: 'email must be a valid email address' })
  email: string;

  @ApiProperty({ example: 'correct horse battery staple', minLength: PASSWORD_MIN_LENGTH, maxLength: PASSWORD_MAX_LENGTH })
  @IsString()
  @MinLength(PASSWORD_MIN_LENGTH)
  @MaxLength(PASSWORD_MAX_LENGTH)
  password: string;
}

export class RegisterDto extends CredentialsDto {}

/** Login accepts any stored password, so only the upper bound applies. */
export class LoginDto extends PickType(CredentialsDto, ['email'] as const) {
  @ApiProperty({ example: 'correct horse battery staple', maxLength: PASSWORD_MAX_LENGTH })
  @IsString()
  @MinLength(1)
  @MaxLength(PASSWORD_MAX_LENGTH)
  password: string;
}

export class RefreshDto {
  @ApiProperty({ description: 'The refresh token from the last login or refresh.' })
  @IsString()
  @MinLength(1)
  @MaxLength(512)
  refreshToken: string;
}

export class ChangePasswordDto {
  @ApiProperty({ maxLength: PASSWORD_MAX_LENGTH })
  @IsString()
  @MinLength(1)
  @MaxLength(PASSWORD_MAX_LENGTH)
  currentPassword: string;

  @ApiProperty({ minLength: PASSWORD_MIN_LENGTH, maxLength: PASSWORD_MAX_LENGTH })
  @IsString()
  @MinLength(PASSWORD_MIN_LENGTH)
  @MaxLength(PASSWORD_MAX_LENGTH)
  newPassword: string;
}
