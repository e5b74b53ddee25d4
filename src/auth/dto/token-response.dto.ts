import { ApiProperty, PickType } from '@nestjs/swagger';

export class TokenResponseDto {
  @ApiProperty({ description: 'JWT access token (typ at+jwt).' })
  accessToken: string;

  @ApiProperty({ description: 'Opaque single-use refresh token.' })
  refreshToken: string;

  @ApiProperty({ example: 'Bearer' })
  tokenType: 'Bearer';

  @ApiProperty({ description: 'Access token lifetime in seconds.', example: 900 })
  expiresIn: number;

  @ApiProperty({ format: 'uuid' })
  sessionId: string;
}

export class UserResponseDto {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty()
  email: string;

  @ApiProperty({ enum: ['user', 'admin'] })
  role: 'user' | 'admin';

  @ApiProperty({ format: 'date-time' })
  createdAt: string;
}

export class MeResponseDto extends PickType(UserResponseDto, ['id', 'email', 'role'] as const) {
  @ApiProperty({ format: 'uuid' })
  sessionId: string;
}
