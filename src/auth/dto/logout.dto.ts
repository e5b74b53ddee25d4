import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';

export const LOGOUT_SCOPES = ['local', 'others', 'global'] as const;
export type LogoutScope = (typeof LOGOUT_SCOPES)[number];

export class LogoutDto {
  @ApiPropertyOptional({
    enum: LOGOUT_SCOPES,
    default: 'local',
    description: '`local` ends this session, `others` every other session, `global` every session and every access token.',
  })
  @IsOptional()
  @IsIn(LOGOUT_SCOPES, { message: `scope must be one of ${LOGOUT_SCOPES.join(', ')}` })
  scope?: LogoutScope;
}
