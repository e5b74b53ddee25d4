import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiForbiddenResponse, ApiNoContentResponse, ApiNotFoundResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';

import { CurrentPrincipal, RequireRole } from '../auth/auth.decorators';
import { Client, ClientInfo } from '../auth/client-info.decorator';
import { ParseIdPipe } from '../common/parse-id.pipe';
import { AdminSessionResponseDto } from '../sessions/session-response.dto';
import { Principal } from '../token-state/token-state.types';
import { AdminUserResponseDto, AuditEventPageDto, EventsQueryDto, FindUserQueryDto, LockUserDto } from './admin.dto';
import { AdminService } from './admin.service';

const userId = () => ParseIdPipe('User not found.');

@ApiTags('admin')
@ApiBearerAuth()
@ApiForbiddenResponse({ description: 'The caller is not an admin.' })
@RequireRole('admin')
@Controller('admin')
export class AdminController {
  constructor(private readonly admin: AdminService) {}

  // Admins often start from an email, such as one in a support request, while
  // every other admin route takes the user's id.
  @Get('users')
  @ApiOkResponse({ type: AdminUserResponseDto, description: 'The user with this email, compared without regard to case.' })
  @ApiNotFoundResponse({ description: 'No user has this email.' })
  findUser(@Query() query: FindUserQueryDto): Promise<AdminUserResponseDto> {
    return this.admin.findUserByEmail(query.email);
  }

  @Get('users/:id')
  @ApiOkResponse({ type: AdminUserResponseDto })
  @ApiNotFoundResponse({ description: 'No such user.' })
  getUser(@Param('id', userId()) id: string): Promise<AdminUserResponseDto> {
    return this.admin.getUser(id);
  }

  @Get('users/:id/sessions')
  @ApiOkResponse({ type: [AdminSessionResponseDto] })
  listSessions(@Param('id', userId()) id: string): Promise<AdminSessionResponseDto[]> {
    return this.admin.listSessions(id);
  }

  @Get('users/:id/events')
  @ApiOkResponse({ type: AuditEventPageDto, description: 'Security events, newest first.' })
  listEvents(@Param('id', userId()) id: string, @Query() query: EventsQueryDto): Promise<AuditEventPageDto> {
    return this.admin.listEvents(id, query.limit ?? 50, query.offset ?? 0);
  }

  @Post('users/:id/lock')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiNoContentResponse({ description: 'Locked; every session and token of the user has ended.' })
  lock(@CurrentPrincipal() admin: Principal, @Param('id', userId()) id: string, @Body() dto: LockUserDto, @Client() client: ClientInfo): Promise<void> {
    return this.admin.lock(admin, id, dto, client);
  }

  @Post('users/:id/unlock')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiNoContentResponse({ description: 'Unlocked; tokens from before the lock stay dead.' })
  unlock(@CurrentPrincipal() admin: Principal, @Param('id', userId()) id: string, @Client() client: ClientInfo): Promise<void> {
    return this.admin.unlock(admin, id, client);
  }

  @Post('users/:id/revoke-tokens')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiNoContentResponse({ description: 'Every session and token of the user has ended; the account stays usable.' })
  revokeTokens(@CurrentPrincipal() admin: Principal, @Param('id', userId()) id: string, @Client() client: ClientInfo): Promise<void> {
    return this.admin.revokeTokens(admin, id, client);
  }

  @Delete('sessions/:id')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiNoContentResponse({ description: 'The session has ended.' })
  @ApiNotFoundResponse({ description: 'No live session has this id.' })
  revokeSession(@CurrentPrincipal() admin: Principal, @Param('id', ParseIdPipe('Session not found.')) id: string, @Client() client: ClientInfo): Promise<void> {
    return this.admin.revokeSession(admin, id, client);
  }
}
