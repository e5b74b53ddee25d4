import { ApiProperty, ApiPropertyOptional, PickType } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsRFC3339, IsString, Matches, Max, MaxLength, Min, MinLength } from 'class-validator';

import { CredentialsDto } from '../auth/dto/credentials.dto';
import { UserResponseDto } from '../auth/dto/token-response.dto';

// Text without control characters (tab and line breaks allowed) and without
// unpaired surrogates: PostgreSQL rejects NUL in text and a lone \ud800 in
// jsonb, where the audit event keeps the reason.
const PLAIN_TEXT = /^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\ud800-\udfff]*$/u;

export class LockUserDto {
  @ApiProperty({ example: 'Suspicious activity', maxLength: 500 })
  @IsString()
  @MinLength(1)
  @MaxLength(500)
  @Matches(PLAIN_TEXT, { message: 'reason must be plain text without control characters' })
  reason: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'When the lock ends by itself; omit for a lock until unlocked.' })
  @IsOptional()
  // RFC 3339, the date-time profile of ISO 8601. Full ISO 8601 also allows week
  // dates and comma fractions, which class-validator accepts but Date cannot parse.
  @IsRFC3339({ message: 'until must be an RFC 3339 date-time, such as 2030-01-01T00:00:00Z' })
  until?: string;
}

/** Query of the lookup by email, validated and normalized as at registration. */
export class FindUserQueryDto extends PickType(CredentialsDto, ['email'] as const) {}

export class EventsQueryDto {
  @ApiPropertyOptional({ default: 50, minimum: 1, maximum: 200 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(200)
  limit?: number;

  @ApiPropertyOptional({ default: 0, minimum: 0 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(1_000_000)
  offset?: number;
}

export class AdminUserResponseDto extends UserResponseDto {
  @ApiProperty({ description: 'Incremented by every revocation of all the user\'s tokens.' })
  tokenVersion: number;

  @ApiProperty({ description: 'True while a lock is in force.' })
  locked: boolean;

  @ApiProperty({ format: 'date-time', nullable: true, type: String })
  lockedAt: string | null;

  @ApiProperty({ nullable: true, type: String })
  lockReason: string | null;

  @ApiProperty({ format: 'date-time', nullable: true, type: String })
  lockedUntil: string | null;

  @ApiProperty({ format: 'date-time' })
  updatedAt: string;
}

export class AuditEventResponseDto {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty()
  type: string;

  @ApiProperty({ format: 'uuid', nullable: true, type: String })
  actorId: string | null;

  @ApiProperty({ format: 'uuid', nullable: true, type: String })
  sessionId: string | null;

  @ApiProperty({ nullable: true, type: String })
  ip: string | null;

  @ApiProperty({ nullable: true, type: String })
  userAgent: string | null;

  @ApiProperty({ type: Object })
  details: Record<string, unknown>;

  @ApiProperty({ format: 'date-time' })
  createdAt: string;
}

export class AuditEventPageDto {
  @ApiProperty({ type: [AuditEventResponseDto] })
  events: AuditEventResponseDto[];

  @ApiProperty()
  total: number;

  @ApiProperty()
  limit: number;

  @ApiProperty()
  offset: number;
}
